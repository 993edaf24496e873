# Unlabelled toy target train images (Cityscapes layout) for adaptation methods.
toy_cityscapes_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root='data/toy/cityscapes',
        data_prefix=dict(img_path='leftImg8bit/train'),
        pipeline=toy_cityscapes_target_pipeline))
