# SIM step 1, SYNTHIA -> Cityscapes, DeepLab-V2-R101 at 1024x512, from ImageNet weights;
# the 19-class model is scored on 16 and 13 classes (read mIoU13; paper, with image
# transfer: 47.1, Table 6). Classes SYNTHIA lacks (terrain, truck, train) never fill
# their bank and are never matched.
_base_ = [
    '../_base_/models/sim_deeplabv2_r101.py',
    '../_base_/datasets/synthia_to_cityscapes_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sim.py'
]
model = dict(segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
