# UDA self-training on the toy benchmark: labelled toy GTA5 + pseudo-labelled toy
# Cityscapes in one DomainPairDataset item.
_base_ = ['./toy_gta5.py', './toy_cityscapes_pseudo.py']
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=False,  # PseudoLabelHook needs fresh workers each round
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='DomainPairDataset',
        source=dict(
            type='GTA5Dataset',
            data_root='data/toy/gta5',
            pipeline={{_base_.toy_gta5_train_pipeline}}),
        target={{_base_.toy_cityscapes_pseudo_dataset}}))
