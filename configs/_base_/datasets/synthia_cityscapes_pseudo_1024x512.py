# SYNTHIA (labelled) + pseudo-labelled Cityscapes train pairs for UDA self-training.
_base_ = ['./synthia_1024x512.py', './cityscapes_pseudo_1024x512.py']
train_dataloader = dict(
    persistent_workers=False,  # PseudoLabelHook needs fresh workers each round
    dataset=dict(
        _delete_=True,
        type='DomainPairDataset',
        source={{_base_.train_dataloader.dataset}},
        target={{_base_.cityscapes_pseudo_dataset}}))
