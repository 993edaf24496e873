"""A very small DeepLab-like EncoderDecoder config shared by the tests."""
from typing import Optional

from mmengine.config import ConfigDict


def tiny_segmentor_cfg(size=(32, 64), num_classes: int = 4,
                       pretrained: Optional[str] = None) -> ConfigDict:
    """ResNetV1c-18 with 4 base channels at output stride 8 and an FCN head.

    ``pretrained`` is given as the backbone's ``init_cfg`` (Pretrained).
    """
    norm_cfg = dict(type='BN', requires_grad=True)
    return ConfigDict(  # as read from a config file (test_cfg.mode is an attribute)
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size=size),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=4,
                      strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), out_indices=(3, ),
                      norm_cfg=norm_cfg,
                      init_cfg=None if pretrained is None else dict(type='Pretrained',
                                                                    checkpoint=pretrained)),
        decode_head=dict(type='FCNHead', in_channels=32, in_index=0, channels=8, num_convs=1,
                         concat_input=False, num_classes=num_classes, norm_cfg=norm_cfg,
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
