# The SFDA protocol: every image resized to 512x256, batch 8.
_base_ = ['./cityscapes_1024x512.py']
cityscapes_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(512, 256), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=cityscapes_train_pipeline))
