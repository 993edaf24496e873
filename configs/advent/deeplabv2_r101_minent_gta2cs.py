# MinEnt (Vu et al., CVPR 2019; valeoai/ADVENT minent.yml), GTA5 -> Cityscapes: source
# segmentation loss plus the entropy of the target predictions, lambda_ent 0.001 (main)
# and 0.0002 (aux), no discriminator; 120k of the 250k-iteration poly schedule.
# Paper: 42.3 mIoU (19 classes, Table 1).
_base_ = ['../adaptsegnet/deeplabv2_r101_adaptsegnet_gta2cs.py']
model = dict(
    use_adversarial=False,
    discriminator=None,
    discriminator_aux=None,
    loss_target=dict(type='EntropyLoss'),
    loss_target_aux=dict(type='EntropyLoss'),
    lambda_target_main=0.001,
    lambda_target_aux=0.0002)
optim_wrapper = dict(discriminator=None, discriminator_aux=None)
train_cfg = dict(max_iters=120000, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
