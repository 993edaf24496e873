# GTA5 source training at the DeepLab-V2 UDA protocol: resize to 1280x720, 1024x512 crops.
gta5_crop_size = (512, 1024)  # (h, w)
gta5_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=False),
    dict(type='RandomCrop', crop_size=gta5_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='GTA5Dataset', data_root='data/gta5', pipeline=gta5_train_pipeline))
