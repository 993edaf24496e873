# DAS3 stage c, SYNTHIA -> Cityscapes (read mIoU16 / mIoU13): the GTA5 stage with the
# SYNTHIA chain of checkpoints (the target, and so the data, is the same).
_base_ = ['./deeplabv2_r101_das3-c_gta2cs.py']
model = dict(source_checkpoint='work_dirs/deeplabv2_r101_das3-b_synthia2cs/iter_29750.pth')
