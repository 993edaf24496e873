# SFDA: SGD (Nesterov) 2.5e-4 with poly 0.9 for the segmentor, Adam 0.1 (as the paper
# states) for the generator and the discriminator; 120 epochs of Cityscapes at batch 8.
max_iters = 44640
optim_wrapper = dict(
    constructor='MultiModuleOptimWrapperConstructor',
    segmentor=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=1e-4,
                       nesterov=True)),
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.1)),
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.1)))
param_scheduler = dict(
    segmentor=[
        dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
    ],
    generator=[],
    discriminator=[])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    non_finite_guard=dict(type='NonFiniteGuardHook'),  # stop at a NaN / Inf loss
    rng_state=dict(type='RNGStateHook'),  # exact resume of random draws (dropout)
    visualization=dict(type='SegVisualizationHook'))
