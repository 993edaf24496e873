# DAS3 stage b, Cityscapes -> NTHU Rome: from the stage-a model.
_base_ = ['./deeplabv2_r101_das3-a_cs2nthu_rome.py']
model = dict(
    stage='b',
    source_checkpoint='work_dirs/deeplabv2_r101_das3-a_cs2nthu_rome/iter_29750.pth')
train_dataloader = dict(dataset=dict(pipeline={{_base_.das3_b_pipeline}}))
custom_hooks = [{{_base_.das3_b_hook}}]
