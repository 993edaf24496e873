# DAS3 stage b (bi-directional self-training), GTA5 -> Cityscapes: from the stage-a model,
# whose frozen copy writes the positive and negative pseudo labels.
_base_ = ['./deeplabv2_r101_das3-a_gta2cs.py']
model = dict(
    stage='b',
    source_checkpoint='work_dirs/deeplabv2_r101_das3-a_gta2cs/iter_29750.pth')
train_dataloader = dict(dataset=dict(pipeline={{_base_.das3_b_pipeline}}))
custom_hooks = [{{_base_.das3_b_hook}}]
