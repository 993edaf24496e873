# Toy target domain with its train labels: only the oracle reads them.
_base_ = ['./cityscapes_1024x512.py']
toy_cityscapes_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root='data/toy/cityscapes', pipeline=toy_cityscapes_train_pipeline))
