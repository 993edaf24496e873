# PixIntraDA, round 1, binary (PLA), SYNTHIA -> Cityscapes: the 19-class model is scored
# on 16 and 13 classes (read mIoU13). Paper (Table 7): BDL 51.4 -> +PLA 54.5 (their
# INTER: BDL's released model; ours: AdaptSegNet). Inter-domain model first:
#   python tools/train.py configs/adaptsegnet/deeplabv2_r101_adaptsegnet_synthia2cs.py
_base_ = ['./deeplabv2_r101_pixintrada_gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_adaptsegnet_synthia2cs/iter_150000.pth')
# alpha = 0.79 for SYNTHIA (Table 8)
custom_hooks = [dict(_base_.pixintrada_hook, policy=dict(_base_.pixintrada_policy, scale=0.79))]
