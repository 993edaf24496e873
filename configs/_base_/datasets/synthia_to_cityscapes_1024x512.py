# SYNTHIA-RAND-CITYSCAPES (labelled) -> Cityscapes train (unlabelled) pairs for UDA
# methods: source as in synthia_1024x512.py, target images resized to 1024x512.
_base_ = ['./synthia_1024x512.py']
cityscapes_target_1024x512_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
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
            data_root='data/cityscapes',
            data_prefix=dict(img_path='leftImg8bit/train'),
            pipeline=cityscapes_target_1024x512_pipeline)))
