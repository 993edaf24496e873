# Source-only DeepLabV3-R50 at the SFDA protocol (512x256, batch 8), evaluated on
# Cityscapes val; the source model that configs/sfda adapts.
_base_ = [
    '../_base_/models/deeplabv3_r50-d8.py', '../_base_/datasets/gta5_512x256.py',
    '../_base_/datasets/cityscapes_val_512x256.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
model = dict(data_preprocessor=dict(size=(256, 512)))
