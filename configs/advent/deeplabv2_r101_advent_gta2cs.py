# AdvEnt (Vu et al., CVPR 2019; valeoai/ADVENT advent.yml), GTA5 -> Cityscapes: AdaptSegNet's
# multi-level output-space adversarial training with the discriminators on weighted
# self-information maps -p log p / log C instead of the softmax; lambda_adv 0.001 (main)
# and 0.0002 (aux); ADVENT stops at EARLY_STOP = 120k of the 250k-iteration poly schedule.
# Paper: 43.8 mIoU (19 classes, Table 1).
_base_ = ['../adaptsegnet/deeplabv2_r101_adaptsegnet_gta2cs.py']
model = dict(input_mode='entropy')
train_cfg = dict(max_iters=120000, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
