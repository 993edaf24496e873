# Source-only DeepLabV3-R50 on Cityscapes at 512x256 (cross-city source), evaluated on
# NTHU Rome with the NTHU 13-class protocol.
_base_ = [
    '../_base_/models/deeplabv3_r50-d8.py', '../_base_/datasets/cityscapes_512x256.py',
    '../_base_/datasets/nthu_val_512x256.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
model = dict(data_preprocessor=dict(size=(256, 512)))
