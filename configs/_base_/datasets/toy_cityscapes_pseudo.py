# Toy Cityscapes train images with pseudo labels (written by PseudoLabelHook) for
# self-training.
# Only variables: toy_cityscapes_pseudo_target.py and toy_gta5_cityscapes_pseudo.py
# build the training loaders from them.
toy_cityscapes_pseudo_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
toy_cityscapes_pseudo_dataset = dict(
    type='CityscapesDataset',
    data_root='data/toy/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'),
    pipeline=toy_cityscapes_pseudo_pipeline)
