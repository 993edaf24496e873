# DAS3 stage c, Cityscapes -> NTHU Rome: from the stage-b model.
_base_ = ['./deeplabv2_r101_das3-a_cs2nthu_rome.py']
model = dict(
    stage='c',
    source_checkpoint='work_dirs/deeplabv2_r101_das3-b_cs2nthu_rome/iter_29750.pth')
train_dataloader = dict(dataset=dict(pipeline={{_base_.das3_c_pipeline}}))
custom_hooks = [{{_base_.das3_c_hook}}]
