# DAS3 black-box stage b on the toy benchmark: the source model only labels (through
# PseudoLabelHook); the trained model starts from its own initialisation.
_base_ = ['./das3-b_deeplabv3_r18_toy-gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/demo/source/iter_300.pth',
    load_source_into_segmentor=False)
