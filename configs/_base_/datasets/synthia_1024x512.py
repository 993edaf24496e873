# SYNTHIA-RAND-CITYSCAPES source training: resize to 1280x760, 1024x512 crops.
synthia_crop_size = (512, 1024)  # (h, w)
synthia_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 760), keep_ratio=False),
    dict(type='RandomCrop', crop_size=synthia_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SynthiaDataset', data_root='data/synthia', pipeline=synthia_train_pipeline))
