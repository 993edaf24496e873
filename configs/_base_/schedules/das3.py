# DAS3 (Wang et al., Sec. 4.1): SGD 2.5e-4, momentum 0.9, weight decay 5e-4, poly 0.9; the
# classifier at 10x (2.5e-3) in stages b and c (frozen in stage a); ten target epochs per
# stage (2975 Cityscapes images, one per iteration). The pseudo-label hooks and training
# pipelines of stages b and c: configs/_base_/methods/das3.py.
_base_ = ['./sgd_poly_40k.py']
max_iters = 29750
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'conv_seg': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2975)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2975, max_keep_ckpts=2))
