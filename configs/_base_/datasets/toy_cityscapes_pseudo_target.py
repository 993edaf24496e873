# Source-free self-training on the toy benchmark: pseudo-labelled toy Cityscapes only.
_base_ = ['./toy_cityscapes_pseudo.py']
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,  # PseudoLabelHook needs fresh workers each round
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.toy_cityscapes_pseudo_dataset}})
