# A short CPU schedule for the toy benchmark.
_base_ = ['./schedule_40k.py']
max_iters = 300
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters),
    # --show-dir draws every image of the small toy val set (mmseg: every 50th)
    visualization=dict(type='SegVisualizationHook', interval=1))
randomness = dict(seed=0)
