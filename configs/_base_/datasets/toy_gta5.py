# Toy source domain (tools/make_toy_domains.py) in the GTA5 layout, 128x256 images.
_base_ = ['./gta5_1024x512.py']
toy_gta5_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root='data/toy/gta5', pipeline=toy_gta5_train_pipeline))
