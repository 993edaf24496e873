# Toy GTA5 (labelled) -> toy Cityscapes train (unlabelled) pairs for UDA methods on the
# toy benchmark (tools/make_toy_domains.py, 128x256 images); batch 4 of each domain.
_base_ = ['./toy_gta5.py']
toy_cityscapes_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DomainPairDataset',
        source={{_base_.train_dataloader.dataset}},
        target=dict(
            type='CityscapesDataset',
            data_root='data/toy/cityscapes',
            data_prefix=dict(img_path='leftImg8bit/train'),
            pipeline=toy_cityscapes_target_pipeline)))
