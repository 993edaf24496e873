# DAS3 black-box stage c on the toy benchmark: starts from the black-box stage-b model.
_base_ = ['./das3-c_deeplabv3_r18_toy-gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/das3-b_deeplabv3_r18_toy-gta2cs_black-box/iter_150.pth')
