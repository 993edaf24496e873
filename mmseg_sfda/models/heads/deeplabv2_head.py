"""DeepLab-V2 ASPP-sum classifier used throughout the UDA literature."""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLab-V2 classifier: summed parallel dilated 3x3 convs.

    Each branch maps the backbone feature directly to ``num_classes`` logits
    (3x3 conv with bias, padding = dilation) and the branch outputs are
    summed, as in the DeepLab-V2 ResNet-101 of AdaptSegNet / ADVENT / CBST.
    AdaptSegNet's ``Classifier_Module`` returns inside its loop, so only the
    first two branches act there; ``dilations=(6, 12)`` reproduces that form.

    There is no ``channels`` bottleneck: the branches are stored as
    ``self.conv_seg`` (an ``nn.ModuleList``), replacing BaseDecodeHead's 1x1
    classifier, so the default ``init_cfg`` (Normal, std 0.01, bias 0,
    override ``conv_seg``) and ``conv_seg``-based parameter rules still apply.

    Args:
        in_channels (int): Input channels (2048 on res5, 1024 on res4).
        num_classes (int): Number of classes.
        dilations (Sequence[int]): Dilation of each branch.
            Default: (6, 12, 18, 24).
        channels (int, optional): Unused; only ``None`` or ``in_channels`` is
            accepted (kept for BaseDecodeHead config compatibility).
        dropout_ratio (float): Dropout2d on the input feature. Default: 0.
        **kwargs: Other BaseDecodeHead arguments (in_index, loss_decode, ...).
    """

    def __init__(self,
                 in_channels: Union[int, List[int]],
                 num_classes: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 channels: Optional[int] = None,
                 dropout_ratio: float = 0.,
                 **kwargs) -> None:
        self._check_dilations(dilations)
        if kwargs.get('input_transform') == 'multiple_select':
            raise ValueError("DeepLabV2Head needs a single feature map, got "
                             "input_transform='multiple_select'")
        total_in = sum(in_channels) if isinstance(
            in_channels, (list, tuple)) else in_channels
        if channels is not None and channels != total_in:
            raise ValueError(
                f'DeepLabV2Head has no bottleneck: channels must be None or '
                f'equal to in_channels={total_in}, got channels={channels}')
        # BaseDecodeHead builds a 1x1 conv_seg from ``channels``; build a
        # minimal one and replace it with the dilated branches below.
        super().__init__(
            in_channels,
            1,
            num_classes=num_classes,
            dropout_ratio=dropout_ratio,
            **kwargs)
        self.channels = self.in_channels
        self.dilations = tuple(int(d) for d in dilations)
        self.conv_seg = self._build_branches()

    @staticmethod
    def _check_dilations(dilations: Sequence[int]) -> None:
        """Raise a clear error for an empty or non-positive ``dilations``."""
        if (not isinstance(dilations, (list, tuple)) or not dilations
                or not all(isinstance(d, int) and d > 0 for d in dilations)):
            raise ValueError('dilations must be a non-empty sequence of '
                             f'positive ints, got {dilations!r}')

    def _build_branches(self) -> nn.ModuleList:
        """One 3x3 dilated conv per dilation, in_channels -> out_channels."""
        branches = nn.ModuleList()
        for dilation in self.dilations:
            conv = nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=dilation,
                dilation=dilation,
                bias=True)
            nn.init.normal_(conv.weight, mean=0., std=0.01)
            nn.init.zeros_(conv.bias)
            branches.append(conv)
        return branches

    def cls_seg(self, feat: Tensor) -> Tensor:
        """Sum of the dilated branch logits (after optional dropout)."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        output = self.conv_seg[0](feat)
        for branch in self.conv_seg[1:]:
            output = output + branch(feat)
        return output

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Select the input level and classify it."""
        x = self._transform_inputs(inputs)
        return self.cls_seg(x)
