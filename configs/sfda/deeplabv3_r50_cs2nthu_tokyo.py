# SFDA, Cityscapes -> NTHU Tokyo, DeepLabV3-R50 at 512x256 (the paper's Table 3).
# Source model: python tools/train.py configs/source_only/deeplabv3_r50_cityscapes-512x256_40k.py
_base_ = [
    '../_base_/models/sfda_deeplabv3_r50.py', '../_base_/datasets/nthu_target_512x256.py',
    '../_base_/datasets/nthu_val_512x256.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sfda_120e.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv3_r50_cityscapes-512x256_40k/iter_40000.pth',
    segmentor=dict(data_preprocessor=dict(size=(256, 512))))
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
test_dataloader = val_dataloader
