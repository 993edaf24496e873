# A small DeepLabV3 (ResNet-18, output stride 8) for the toy benchmark on a CPU,
# trained from scratch: no pretrained weights are needed.
_base_ = ['./deeplabv3_r50-d8.py']
model = dict(
    data_preprocessor=dict(size=(128, 256)),
    pretrained=None,
    backbone=dict(depth=18),
    decode_head=dict(
        in_channels=512, channels=128, dilations=(1, 3, 6, 9), dropout_ratio=0.0),
    auxiliary_head=None)
