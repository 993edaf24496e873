# CBST self-training: SGD 2.5e-4 (DeepLab-V2 UDA), poly 0.9; three rounds of two target
# epochs (the self-paced portion 20%, 25%, 30%: +5% a round, at most 50%): CBST reports
# every main result "at the 3 round (6 epochs)" (supplementary); more rounds:
# cbst_rounds. With one GTA5 and one Cityscapes image per iteration two epochs of the
# 2975 target images are 5950 iterations.
# The pseudo-label hook and its knobs: configs/_base_/methods/cbst.py.
_base_ = ['./sgd_poly_40k.py']
cbst_rounds = 3
max_iters = cbst_rounds * 5950
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5950)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=5950, max_keep_ckpts=2))
