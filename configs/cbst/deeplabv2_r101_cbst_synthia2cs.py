# CBST, SYNTHIA -> Cityscapes, DeepLab-V2-R101 (read mIoU16 / mIoU13); as the GTA5 config
# with the SYNTHIA pairs.
# Source model: python tools/train.py configs/source_only/deeplabv2_r101_synthia-1024x512_40k.py
_base_ = [
    '../_base_/models/cbst_deeplabv2_r101.py',
    '../_base_/datasets/synthia_cityscapes_pseudo_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/cbst.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_synthia-1024x512_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
train_dataloader = dict(
    dataset=dict(target=dict(pipeline={{_base_.cityscapes_pseudo_rare_crop_pipeline}})))
