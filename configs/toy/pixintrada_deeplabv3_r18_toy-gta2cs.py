# PixIntraDA on the toy benchmark: the second stage after the toy AdaptSegNet model
# (`python tools/demo.py --method adaptseg` writes work_dirs/demo/adaptseg/iter_100.pth).
# Its frozen copy labels the toy Cityscapes train images once (median thresholds capped
# at 0.9); the segmentor starts from it and trains on the target images alone: partial
# CE on the easy pixels + binary pixel-level adversarial loss (single level: the toy
# model has no auxiliary head). lambda_adv_main (beta of Eq. 9) stays at 0.001: on this
# toy a larger one only lowered target mIoU (0 / 0.001 / 0.05 / 0.2 / 1: mIoU13 15.84 /
# 15.83 / 15.53 / 14.35 / 10.72, see docs/methods/pixintrada.md).
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py',
    '../_base_/datasets/toy_cityscapes_pseudo_target.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(
    bn_stats={{_base_.toy_bn_stats}},
    _delete_=True,
    type='PixIntraDASegmentor',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/adaptseg/iter_100.pth',
    with_source_model=True,
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64, upsample_to_input=True),
    discriminator_aux=None,
    adversarial='binary',
    lambda_adv_main=0.001,
    loss_kld=None)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
# the pseudo labels with the labelling model's confidence (Z of the continuous variant)
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadPseudoLabel', with_confidence=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputsWithExtras')
    ]))
# one labelling, before the first iteration, by the frozen inter-domain model
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_iters={{_base_.max_iters}},
        max_rounds=1,
        model='source_model',
        policy=dict(type='median', cap=0.9, empty_value=1.0)),
    dict(type='BNStatsHook')
]
