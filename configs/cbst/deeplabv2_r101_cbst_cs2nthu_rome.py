# CBST, Cityscapes -> NTHU Rome, DeepLab-V2-R101 (the NTHU 13-class protocol).
# Source model: python tools/train.py configs/source_only/deeplabv2_r101_cityscapes-1024x512_40k.py
_base_ = [
    '../_base_/models/cbst_deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_nthu_pseudo_1024x512.py',
    '../_base_/datasets/nthu_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/cbst.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_cityscapes-1024x512_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
# NTHU cities have 3200 train images at most: rounds of two epochs are shorter
max_iters = 3 * 6400  # cbst_rounds (3) rounds
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=6400)
default_hooks = dict(checkpoint=dict(interval=6400))
