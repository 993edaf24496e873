# AdaptSegNet (multi-level, output-space adversarial), GTA5 -> Cityscapes, DeepLab-V2-R101
# at 1024x512, from ImageNet weights. Paper: 42.4 mIoU (19 classes, Table 1).
_base_ = [
    '../_base_/models/adaptsegnet_deeplabv2_r101.py',
    '../_base_/datasets/gta5_to_cityscapes_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_150k.py'
]
model = dict(segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
