# DAS3 stage a (implicit feature alignment), GTA5 -> Cityscapes, source-free: focal
# entropic + weighted diversity losses on Cityscapes images, the classifier frozen.
# Source model: python tools/train.py configs/source_only/deeplabv2_r101_gta5-1024x512_40k.py
_base_ = [
    '../_base_/models/das3_deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_target_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/das3.py'
]
model = dict(
    stage='a',
    source_checkpoint='work_dirs/deeplabv2_r101_gta5-1024x512_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
