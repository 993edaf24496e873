# SIM's schedule (train_sim.py): AdaptSegNet's optimizers (segmentor SGD 2.5e-4, momentum
# 0.9, weight decay 5e-4, the classifier at 10x; discriminator Adam 1e-4, betas (0.9, 0.99);
# poly 0.9 over NUM_STEPS = 250k) with training stopped at NUM_STEPS_STOP = 200k; batch 1
# source + 1 target. The paper names Nesterov momentum; the released code uses plain
# momentum, kept here. SIM's code picks its best validation snapshot; we keep the last.
_base_ = ['./adaptsegnet_150k.py']
max_iters = 200000
optim_wrapper = dict(discriminator_aux=None)
param_scheduler = dict(discriminator_aux=None)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
