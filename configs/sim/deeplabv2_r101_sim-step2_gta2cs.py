# SIM step 2 (Eq. 13: step 1 + self-training on class-wise-threshold pseudo labels of
# the step-1 model), GTA5 -> Cityscapes. Paper: 49.2 mIoU (Table 1, on image-transferred GTA5).
# Step 1 first: python tools/train.py configs/sim/deeplabv2_r101_sim-step1_gta2cs.py
_base_ = [
    '../_base_/models/sim-step2_deeplabv2_r101.py',
    '../_base_/datasets/gta5_cityscapes_pseudo_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/sim_step2.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_sim-step1_gta2cs/iter_200000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
