# The paper's "transfer only": a new model (ImageNet initialisation, not the source
# weights) learns from the generator's fake samples alone; no target loss, no IPSM.
_base_ = ['./deeplabv3_r50_gta2cs.py']
model = dict(transfer_only=True, use_ipsm=False, discriminator=None)
optim_wrapper = dict(discriminator=None)
