# Pseudo-labelled Cityscapes train images alone (no source domain) at the DeepLab-V2
# protocol (1024x512), batch 4.
_base_ = ['./cityscapes_pseudo_1024x512.py']
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=False,  # PseudoLabelHook needs fresh workers each round
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.cityscapes_pseudo_dataset}})
