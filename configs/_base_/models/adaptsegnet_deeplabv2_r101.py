# AdaptSegNet (Tsai et al., CVPR 2018) around the multi-level DeepLab-V2 ResNet-101: the
# main head on res5 and the auxiliary head on res4 (its loss_decode weight 0.1 is
# AdaptSegNet's LAMBDA_SEG), one FC discriminator per level on the softmax output,
# lambda_adv 0.001 (main) and 0.0002 (aux). Trained from ImageNet weights, as the paper.
_base_ = ['./deeplabv2_r101_multilevel.py']
model = dict(
    _delete_=True,
    type='AdaptSegNetSegmentor',
    segmentor={{_base_.model}},
    source_checkpoint=None,
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    discriminator_aux=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    loss_adv=dict(type='AdversarialLoss', source_label=0., target_label=1.),
    lambda_adv_main=0.001,
    lambda_adv_aux=0.0002,
    input_mode='softmax',
    use_adversarial=True)  # loss_target / loss_target_aux (MinEnt): None
# a custom train_step: each sub-module gets its own DDP wrapper. Every segmentor
# parameter gets a gradient from the source loss in every step, so no unused-parameter
# search is needed (True also works: see AdaptSegNetSegmentor).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
