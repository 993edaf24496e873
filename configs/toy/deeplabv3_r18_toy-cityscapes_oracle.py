# The oracle: the same model trained on the toy target's own labels.
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py', '../_base_/datasets/toy_cityscapes.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/toy_sgd_poly.py'
]
