# A short CPU schedule for AdaptSegNet / ADVENT (and the toy SIM and PixIntraDA) on the
# toy benchmark, fine-tuning the toy source model: AdaptSegNet's optimizers (SGD, Adam
# with betas (0.9, 0.99), poly 0.9). Differences from the papers, and why:
# - segmentor lr 2.5e-3 = 10x the papers' 2.5e-4 (PixIntraDA 2.4e-4): 100 iterations
#   instead of 150k-250k, from a toy source model trained at 1e-2;
# - the discriminator at 1e-3 instead of 1e-4 so that it learns within the short run;
# - 10x lr on the classifier (conv_seg) only: AdaptSegNet's 10x group is DeepLab-V2's
#   ASPP classifier (layer5/6: four dilated convolutions straight to the classes, the
#   whole decode_head of the full-size configs); the toy DeepLabV3 ASPP head's
#   convolutions, BN and bottleneck are feature layers, kept at 1x.
_base_ = ['./adaptsegnet_150k.py']
max_iters = 100
optim_wrapper = dict(
    segmentor=dict(
        optimizer=dict(lr=2.5e-3),
        paramwise_cfg=dict(custom_keys=dict(_delete_=True, conv_seg=dict(lr_mult=10.)))),
    discriminator=dict(optimizer=dict(lr=1e-3)),
    discriminator_aux=None)
param_scheduler = dict(
    segmentor=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=50, max_keep_ckpts=1),
    # --show-dir draws every image of the small toy val set (mmseg: every 50th)
    visualization=dict(type='SegVisualizationHook', interval=1))
randomness = dict(seed=0)
