# Source-only on the toy benchmark: train on the toy GTA5 layout, score on the toy
# Cityscapes val. `python tools/demo.py` runs this.
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py', '../_base_/datasets/toy_gta5.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/toy_sgd_poly.py'
]
