# DAS3 stage a (implicit feature alignment) on the toy benchmark: focal entropic and
# weighted diversity losses on unlabelled toy Cityscapes, the source classifier frozen.
# Stage b starts from this run's last checkpoint.
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py',
    '../_base_/datasets/toy_cityscapes_target.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/self_training_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(
    bn_stats={{_base_.toy_bn_stats}},
    _delete_=True,
    type='DAS3Segmentor',
    stage='a',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/source/iter_300.pth')
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
max_iters = 100
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='BNStatsHook')]
