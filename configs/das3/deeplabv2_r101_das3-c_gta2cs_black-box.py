# DAS3 black-box stage c, GTA5 -> Cityscapes: from the black-box stage-b model.
_base_ = ['./deeplabv2_r101_das3-c_gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_das3-b_gta2cs_black-box/iter_29750.pth')
