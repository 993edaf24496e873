# Cityscapes (labelled) + pseudo-labelled NTHU train images of one city (Rome by
# default; per-city configs set nthu_root) for UDA self-training.
_base_ = ['./cityscapes_1024x512.py']
nthu_root = 'data/NTHU/Rome'
nthu_pseudo_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    persistent_workers=False,  # PseudoLabelHook needs fresh workers each round
    dataset=dict(
        _delete_=True,
        type='DomainPairDataset',
        source={{_base_.train_dataloader.dataset}},
        target=dict(
            type='NTHUDataset',
            data_root=nthu_root,
            split='train',
            pipeline=nthu_pseudo_pipeline)))
