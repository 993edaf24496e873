# Toy source domain (tools/make_toy_domains.py) in the SYNTHIA layout, 128x256 images.
_base_ = ['./synthia_1024x512.py']
toy_synthia_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root='data/toy/synthia', pipeline=toy_synthia_train_pipeline))
