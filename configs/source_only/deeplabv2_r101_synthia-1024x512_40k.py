# Source-only DeepLab-V2-R101 on SYNTHIA, evaluated on Cityscapes val (read mIoU16, mIoU13).
_base_ = [
    '../_base_/models/deeplabv2_r101.py', '../_base_/datasets/synthia_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_poly_40k.py'
]
model = dict(data_preprocessor=dict(size=(512, 1024)))
