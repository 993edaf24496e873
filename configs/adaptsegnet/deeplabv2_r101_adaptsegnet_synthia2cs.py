# AdaptSegNet (multi-level), SYNTHIA -> Cityscapes, DeepLab-V2-R101 at 1024x512, from
# ImageNet weights; the 19-class model is scored on 16 and 13 classes (read mIoU13:
# paper 46.7, Table 3).
_base_ = [
    '../_base_/models/adaptsegnet_deeplabv2_r101.py',
    '../_base_/datasets/synthia_to_cityscapes_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_150k.py'
]
model = dict(segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
