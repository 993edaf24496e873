# AdaptSegNet (output-space adversarial, single level) on the toy benchmark: adapt the toy
# GTA5 source model to the toy Cityscapes target with source labels.
# `python tools/demo.py --method adaptseg` runs it.
_base_ = [
    '../_base_/models/adaptsegnet_deeplabv3_r18_toy.py',
    '../_base_/datasets/toy_gta5_to_cityscapes.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(bn_stats={{_base_.toy_bn_stats}})
custom_hooks = [dict(type='BNStatsHook')]
