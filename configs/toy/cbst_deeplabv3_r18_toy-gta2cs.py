# CBST on the toy benchmark: toy GTA5 labels + class-balanced pseudo labels on toy
# Cityscapes, three rounds of 50 iterations with the self-paced portion 20%, 25%, 30%.
# `python tools/demo.py --method cbst` runs it.
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py',
    '../_base_/datasets/toy_gta5_cityscapes_pseudo.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/self_training_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(
    bn_stats={{_base_.toy_bn_stats}},
    _delete_=True,
    type='SelfTrainingSegmentor',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/source/iter_300.pth')
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_iters=50,
        max_rounds=3,
        policy=dict(
            type='class_portion',
            portion=dict(start=0.2, step=0.05, max_portion=0.5))),
    dict(type='BNStatsHook')
]
