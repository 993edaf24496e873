# Unlabelled Cityscapes train images as the adaptation target at the DeepLab-V2 protocol
# (1024x512), one image per iteration.
cityscapes_target_1024x512_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,  # PseudoLabelHook (self-training stages) restarts workers
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root='data/cityscapes',
        data_prefix=dict(img_path='leftImg8bit/train'),
        pipeline=cityscapes_target_1024x512_train_pipeline))
