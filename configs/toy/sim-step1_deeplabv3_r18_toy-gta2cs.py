# SIM step 1 (AdaptSegNet's output-space adversarial training + stuff and instance
# matching) on the toy benchmark, from the toy GTA5 source model.
# `python tools/demo.py --method sim` runs it, then step 2.
_base_ = [
    '../_base_/models/sim_deeplabv3_r18_toy.py',
    '../_base_/datasets/toy_gta5_to_cityscapes.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(bn_stats={{_base_.toy_bn_stats}})
custom_hooks = [dict(type='BNStatsHook')]
