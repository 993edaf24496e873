# PixIntraDA (Yan et al., MM 2021) around the multi-level DeepLab-V2 ResNet-101 of
# AdaptSegNet: one pixel-level FC discriminator per level (main head on res5, auxiliary
# head on res4), each upsampled to the input size (Sec. 5.1). beta (lambda_adv_main /
# lambda_adv_aux, named as AdaptSegNet's) is not given in the paper; Sec. 5.3 keeps
# AdaptSegNet's discriminator settings: 0.001 (main), 0.0002 (aux). Round 1: no KLD
# regulariser (loss_kld=None; the round-2 config sets it).
# The segmentor and the frozen copy that labels the target set both start from the
# inter-domain model (source_checkpoint, set by each task config).
_base_ = ['./deeplabv2_r101_multilevel.py']
model = dict(
    _delete_=True,
    type='PixIntraDASegmentor',
    segmentor={{_base_.model}},
    source_checkpoint=None,
    with_source_model=True,
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64, upsample_to_input=True),
    discriminator_aux=dict(
        type='FCDiscriminator', num_classes=19, ndf=64, upsample_to_input=True),
    adversarial='binary',
    loss_adv=dict(type='AdversarialLoss', reduction='mean'),
    loss_cts=dict(type='ContinuousIndexLoss', use_sigmoid=True, reduction='mean'),
    lambda_adv_main=0.001,
    lambda_adv_aux=0.0002,
    loss_kld=None)
# a custom train_step: each sub-module gets its own DDP wrapper; the frozen copy has no
# trainable parameter. Every segmentor parameter gets a gradient from the partial seg
# loss of the one target pass, so no unused-parameter search is needed.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
