# MinEnt on the toy benchmark: source loss + target entropy, no discriminator.
_base_ = ['./adaptsegnet_deeplabv3_r18_toy-gta2cs.py']
model = dict(
    use_adversarial=False,
    discriminator=None,
    loss_target=dict(type='EntropyLoss'),
    lambda_target_main=0.001)
optim_wrapper = dict(discriminator=None)
