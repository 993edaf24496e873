# SFDA, GTA5 -> Cityscapes, DeepLabV3-R50 at 512x256 (the paper's Table 1 setting).
# Source model: python tools/train.py configs/source_only/deeplabv3_r50_gta5-512x256_40k.py
_base_ = [
    '../_base_/models/sfda_deeplabv3_r50.py',
    '../_base_/datasets/cityscapes_target_512x256.py',
    '../_base_/datasets/cityscapes_val_512x256.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sfda_120e.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv3_r50_gta5-512x256_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(256, 512))))
