# DAS3 stage a, Cityscapes -> NTHU Rome (the NTHU 13-class protocol).
# Source model: python tools/train.py configs/source_only/deeplabv2_r101_cityscapes-1024x512_40k.py
_base_ = [
    '../_base_/models/das3_deeplabv2_r101.py', '../_base_/datasets/nthu_target_1024x512.py',
    '../_base_/datasets/nthu_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/das3.py'
]
model = dict(
    stage='a',
    source_checkpoint='work_dirs/deeplabv2_r101_cityscapes-1024x512_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
