# PixIntraDA's schedule (Sec. 5.3): segmentor SGD 2.4e-4, momentum 0.9, weight decay
# 5e-4; discriminators Adam 1e-4, betas (0.9, 0.99); all poly 0.9; the classifiers at 10x
# lr as in AdaptSegNet's code, whose discriminator / auxiliary-classifier settings the
# paper keeps. The paper gives no iteration count: 30k iterations of 4 images (the
# dataset config's batch) = 120k images, the budget of ADVENT's early stop (120k
# iterations of one image). Multi-scale training / testing (Sec. 5.3) is not reproduced.
#
# Pseudo labels: once, before the first iteration, PseudoLabelHook labels the target
# set with the frozen inter-domain model at 1024x512 (labels written at each image's own
# size) with t_k = min(class median, 0.9) (Sec. 4.1). Pixels whose confidence reaches the
# alpha-scaled threshold alpha * t_k of their arg-max class are easy (Eq. 2; the policy's
# `scale`: alpha = 0.85 for GTA5, Table 5; the SYNTHIA config sets 0.79, Table 8).
# See docs/methods/pixintrada.md.
_base_ = ['./adaptsegnet_150k.py']
max_iters = 30000
optim_wrapper = dict(segmentor=dict(optimizer=dict(lr=2.4e-4)))
param_scheduler = dict(
    segmentor=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ],
    discriminator_aux=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
pixintrada_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
pixintrada_policy = dict(type='median', cap=0.9, empty_value=1.0, scale=0.85)
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        label_pipeline=pixintrada_label_pipeline,
        round_iters=max_iters,
        max_rounds=1,
        model='source_model',
        policy=pixintrada_policy)
]
