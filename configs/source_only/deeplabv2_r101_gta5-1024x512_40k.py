# Source-only DeepLab-V2-R101 on GTA5, evaluated on Cityscapes val (19/16/13 classes).
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/gta5_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_poly_40k.py'
]
model = dict(data_preprocessor=dict(size=(512, 1024)))
