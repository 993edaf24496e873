# SIM step 1 (Eq. 12: AdaptSegNet's output-space adversarial training + stuff and
# instance matching), GTA5 -> Cityscapes, DeepLab-V2-R101 at 1024x512, from ImageNet
# weights. Paper: 46.2 mIoU on image-transferred GTA5 images (BDL's, Table 2), which
# these configs do not use (AdaptSegNet alone: 41.4 there).
# Step 2: configs/sim/deeplabv2_r101_sim-step2_gta2cs.py.
_base_ = [
    '../_base_/models/sim_deeplabv2_r101.py',
    '../_base_/datasets/gta5_to_cityscapes_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sim.py'
]
model = dict(segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
