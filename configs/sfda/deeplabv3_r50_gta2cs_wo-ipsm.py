# The paper's "SFDA (w/o IPSM)" ablation: knowledge transfer + MaxSquare, no IPSM.
_base_ = ['./deeplabv3_r50_gta2cs.py']
model = dict(use_ipsm=False, discriminator=None)
optim_wrapper = dict(discriminator=None)
