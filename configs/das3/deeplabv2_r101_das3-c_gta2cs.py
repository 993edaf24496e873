# DAS3 stage c (information propagation), GTA5 -> Cityscapes: from the stage-b model;
# easy images learn from its pseudo labels, ClassMixed hard pairs from the model itself.
_base_ = ['./deeplabv2_r101_das3-a_gta2cs.py']
model = dict(
    stage='c',
    source_checkpoint='work_dirs/deeplabv2_r101_das3-b_gta2cs/iter_29750.pth')
train_dataloader = dict(dataset=dict(pipeline={{_base_.das3_c_pipeline}}))
custom_hooks = [{{_base_.das3_c_hook}}]
