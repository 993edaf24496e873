# AdvEnt on the toy benchmark: AdaptSegNet with the discriminator on self-information
# maps. `python tools/demo.py --method advent` runs it.
_base_ = ['./adaptsegnet_deeplabv3_r18_toy-gta2cs.py']
model = dict(input_mode='entropy')
