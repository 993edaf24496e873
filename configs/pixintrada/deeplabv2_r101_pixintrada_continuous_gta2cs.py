# PixIntraDA, round 1, continuously indexed adversarial learning (PLA + CTS, Eq. 7-8):
# the discriminators regress Z (0 on easy pixels, 1 - max probability of the inter-domain
# model on hard ones). Paper (Table 3): 50.3.
_base_ = ['./deeplabv2_r101_pixintrada_gta2cs.py']
model = dict(adversarial='continuous')
