# DAS3 stage a, SYNTHIA -> Cityscapes (read mIoU16 / mIoU13): the GTA5 stage with the
# SYNTHIA chain of checkpoints (the target, and so the data, is the same).
_base_ = ['./deeplabv2_r101_das3-a_gta2cs.py']
model = dict(source_checkpoint='work_dirs/deeplabv2_r101_synthia-1024x512_40k/iter_40000.pth')
