# AdaptSegNet's schedule (train_gta2cityscapes_multi.py): segmentor SGD 2.5e-4, momentum
# 0.9, weight decay 5e-4, the classifiers at 10x lr (optim_parameters); discriminators
# Adam 1e-4, betas (0.9, 0.99); all with poly 0.9 over NUM_STEPS = 250k iterations and
# training stopped at NUM_STEPS_STOP = 150k; batch 1 source + 1 target.
max_iters = 150000
poly_iters = 250000
optim_wrapper = dict(
    constructor='MultiModuleOptimWrapperConstructor',
    segmentor=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(custom_keys={
            'decode_head': dict(lr_mult=10.),
            'auxiliary_head': dict(lr_mult=10.)
        })),
    discriminator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))),
    discriminator_aux=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
param_scheduler = dict(
    segmentor=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=poly_iters, by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=poly_iters, by_epoch=False)
    ],
    discriminator_aux=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=poly_iters, by_epoch=False)
    ])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    non_finite_guard=dict(type='NonFiniteGuardHook'),  # stop at a NaN / Inf loss
    rng_state=dict(type='RNGStateHook'),  # exact resume of random draws (dropout)
    visualization=dict(type='SegVisualizationHook'))
