# Source-only DeepLab-V2-R101 on Cityscapes (the cross-city source), evaluated on
# NTHU Rome with the NTHU 13-class protocol; other cities: --cfg-options
# val_dataloader.dataset.data_root=data/NTHU/Rio test_dataloader.dataset.data_root=...
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/cityscapes_1024x512.py',
    '../_base_/datasets/nthu_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_poly_40k.py'
]
model = dict(data_preprocessor=dict(size=(512, 1024)))
