# PixIntraDA, round 1, binary pixel-level adversarial learning (PLA, Eq. 6), GTA5 ->
# Cityscapes, multi-level DeepLab-V2-R101 at 1024x512; trained on the pseudo-labelled
# Cityscapes train images alone (Sec. 5.3). Paper (Table 3): INTER 45.2 -> +PLA 49.4
# (their INTER: AdaptSegNet on BDL-translated GTA5 images; ours: AdaptSegNet on GTA5).
# Inter-domain model first:
#   python tools/train.py configs/adaptsegnet/deeplabv2_r101_adaptsegnet_gta2cs.py
_base_ = [
    '../_base_/models/pixintrada_deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_pseudo_confidence_1024x512.py',
    '../_base_/datasets/cityscapes_val_1024x512.py', '../_base_/default_runtime.py',
    '../_base_/methods/pixintrada.py'
]
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_adaptsegnet_gta2cs/iter_150000.pth',
    segmentor=dict(data_preprocessor=dict(size=(512, 1024))))
