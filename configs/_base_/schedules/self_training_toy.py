# A short CPU schedule for self-training methods on the toy benchmark: 150 iterations
# (three pseudo-label rounds of 50 in the method configs). lr 2.5e-3 = 10x the DeepLab-V2
# papers' 2.5e-4 (DAS3; CBST's ResNet-38 1e-4): a few hundred iterations instead of tens
# of thousands, from a toy source model trained at 1e-2.
_base_ = ['./toy_sgd_poly.py']
max_iters = 150
optimizer = dict(type='SGD', lr=2.5e-3, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=50, max_keep_ckpts=1))
