# A short CPU schedule for SFDA on the toy benchmark. Differences from the paper (Sec. 4.1):
# segmentor lr 2.5e-3 = 10x the paper's 2.5e-4 (150 iterations instead of 44640); the
# generator's Adam at 1e-3 instead of the paper's 0.1 and the discriminator's at 1e-4
# instead of 0.1: the toy generator is not the paper's (supplementary) and these values
# were never benchmarked against 0.1 on the toy; set generator lr=0.1 here to try it.
_base_ = ['./sfda_120e.py']
max_iters = 150
optim_wrapper = dict(
    segmentor=dict(optimizer=dict(lr=2.5e-3)),
    generator=dict(optimizer=dict(lr=1e-3)),
    discriminator=dict(optimizer=dict(lr=1e-4)))
param_scheduler = dict(segmentor=[
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=50, max_keep_ckpts=1),
    # --show-dir draws every image of the small toy val set (mmseg: every 50th)
    visualization=dict(type='SegVisualizationHook', interval=1))
randomness = dict(seed=0)
