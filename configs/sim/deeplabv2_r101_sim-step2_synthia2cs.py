# SIM step 2, SYNTHIA -> Cityscapes (read mIoU13; paper 52.1, Table 5).
# Step 1 first: python tools/train.py configs/sim/deeplabv2_r101_sim-step1_synthia2cs.py
_base_ = [
    '../_base_/models/sim-step2_deeplabv2_r101.py',
    '../_base_/datasets/synthia_cityscapes_pseudo_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/sim_step2.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_sim-step1_synthia2cs/iter_200000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
