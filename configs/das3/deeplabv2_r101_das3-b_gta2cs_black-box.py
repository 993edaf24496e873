# DAS3 black-box stage b, GTA5 -> Cityscapes: the source model only labels (through
# PseudoLabelHook); the trained model starts from ImageNet weights, not the source's.
_base_ = ['./deeplabv2_r101_das3-b_gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/deeplabv2_r101_gta5-1024x512_40k/iter_40000.pth',
    load_source_into_segmentor=False)
