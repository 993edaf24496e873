# PixIntraDA's schedule (Sec. 5.3): segmentor SGD 2.4e-4, momentum 0.9, weight decay
# 5e-4; discriminators Adam 1e-4, betas (0.9, 0.99); all poly 0.9; the classifiers at 10x
# lr as in AdaptSegNet's code, whose discriminator / auxiliary-classifier settings the
# paper keeps. The paper gives no iteration count: 30k iterations of 4 images (the
# dataset config's batch) = 120k images, the budget of ADVENT's early stop (120k
# iterations of one image). Multi-scale training / testing (Sec. 5.3) is not reproduced.
# The pseudo-label hook and its knobs (alpha): configs/_base_/methods/pixintrada.py.
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
