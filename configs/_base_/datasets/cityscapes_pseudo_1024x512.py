# Cityscapes train images with pseudo labels (PseudoLabelHook) as the self-training
# target at the DeepLab-V2 protocol (1024x512).
# Only variables: the *_cityscapes_pseudo_1024x512.py pair configs use them.
cityscapes_pseudo_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
# CBST's rare-class crop mining (< 0.1% of target pixels predicted) on 1024x512 images
cityscapes_pseudo_rare_crop_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RareClassCrop', crop_size=(512, 1024), rare_threshold=1e-3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
cityscapes_pseudo_dataset = dict(
    type='CityscapesDataset',
    data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/train'),
    pipeline=cityscapes_pseudo_pipeline)
