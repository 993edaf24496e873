# DAS3 (Wang et al., Sec. 4.1): SGD 2.5e-4, momentum 0.9, weight decay 5e-4, poly 0.9; the
# classifier at 10x (2.5e-3) in stages b and c (frozen in stage a); ten target epochs per
# stage (2975 Cityscapes images, one per iteration). The pseudo-label hooks and training
# pipelines of stages b and c are variables here, used by every task's stage configs.
_base_ = ['./sgd_poly_40k.py']
max_iters = 29750
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'conv_seg': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2975)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2975, max_keep_ckpts=2))
# the target set is labelled at the training scale by the frozen previous-stage model
das3_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
# stage b: positive (class-level top 65%, Eq. 4-5) and negative (p < 0.05, Eq. 6)
# labels; the labelling model is frozen, so one round serves every epoch
das3_b_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=das3_label_pipeline,
    round_epochs=1,
    max_rounds=1,
    model='source_model',
    policy=dict(type='top_k', k=0.65),
    negative_threshold=0.05)
das3_b_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel', with_negative=True),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputsWithExtras')
]
# stage c: the easiest 30% of the images by mean entropy (Eq. 9) keep their labels
das3_c_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=das3_label_pipeline,
    round_epochs=1,
    max_rounds=1,
    model='source_model',
    policy=dict(type='top_k', k=0.65),
    image_split=dict(easy_portion=0.3))
das3_c_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel', with_split=True),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputsWithExtras')
]
