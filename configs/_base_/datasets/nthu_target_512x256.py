# Unlabelled NTHU train images of one city (Rome by default) as the adaptation target.
nthu_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='NTHUDataset',
        data_root='data/NTHU/Rome',
        split='train',
        pipeline=nthu_target_pipeline))
