# Source training as in the DeepLab-V2 UDA literature: SGD 2.5e-4, momentum 0.9,
# weight decay 5e-4, poly 0.9.
_base_ = ['./schedule_40k.py']
optimizer = dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40000, by_epoch=False)
]
