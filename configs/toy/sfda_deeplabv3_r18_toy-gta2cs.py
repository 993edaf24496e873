# SFDA on the toy benchmark: adapt the toy GTA5 source model to the toy Cityscapes target
# without source data. `python tools/demo.py --method sfda` runs it.
_base_ = [
    '../_base_/models/sfda_deeplabv3_r18_toy.py',
    '../_base_/datasets/toy_cityscapes_target.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sfda_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(bn_stats={{_base_.toy_bn_stats}})
custom_hooks = [dict(type='BNStatsHook')]
