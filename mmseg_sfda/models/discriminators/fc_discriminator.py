"""Fully-convolutional output-space discriminator (AdaptSegNet / AdvEnt)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class FCDiscriminator(BaseModule):
    """AdaptSegNet's ``FCDiscriminator`` (also AdvEnt's and PixIntraDA's D).

    Five 4x4 convs, stride 2, padding 1, with widths ``ndf, 2ndf, 4ndf,
    8ndf, 1`` (default 64, 128, 256, 512, 1), a LeakyReLU(0.2) after each
    but the last, no normalisation. Every conv maps a side ``n`` to
    ``floor(n / 2)``, so the output is ``(B, 1, floor(H/32), floor(W/32))``
    logits and inputs must be at least 32 x 32.

    Input: ``num_classes`` channels - softmax probabilities (AdaptSegNet,
    PixIntraDA) or AdvEnt's weighted self-information maps
    (:func:`self_information_map`, also C channels).

    ``upsample_to_input=True`` bilinearly resizes the logits to the input's
    H x W (PixIntraDA Sec. 5.1: pixel-level adversarial learning, Eq. 6 and
    8, needs one discriminator output per pixel).

    Args:
        num_classes (int): Input channels (= segmentation classes C).
        ndf (int): Width of the first conv. Default: 64.
        upsample_to_input (bool): Resize the output to the input size.
            Default: False (AdaptSegNet / AdvEnt).
        align_corners (bool): ``align_corners`` of that bilinear resize.
            Default: False (the mmseg / project convention; AdvEnt-lineage
            code uses ``nn.Upsample(..., align_corners=True)``).
        init_cfg (dict, optional): mmengine init config. Default: None
            (PyTorch's default conv init, as AdaptSegNet).
    """

    num_convs = 5

    def __init__(self,
                 num_classes: int,
                 ndf: int = 64,
                 upsample_to_input: bool = False,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_classes', num_classes), ('ndf', ndf)):
            if not (isinstance(value, int) and not isinstance(value, bool)
                    and value > 0):
                raise ValueError(f'FCDiscriminator: {name} must be a '
                                 f'positive int, got {value!r}')
        self.num_classes = num_classes
        self.upsample_to_input = upsample_to_input
        self.align_corners = align_corners
        widths = [ndf, ndf * 2, ndf * 4, ndf * 8, 1]
        layers = []
        in_channels = num_classes
        for i, out_channels in enumerate(widths):
            layers.append(
                nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1))
            if i < len(widths) - 1:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_channels = out_channels
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Score every location of a probability / entropy map.

        Args:
            x (Tensor): (B, num_classes, H, W), H and W >= 32.

        Returns:
            Tensor: Logits (B, 1, H // 32, W // 32), or (B, 1, H, W) with
            ``upsample_to_input``.
        """
        if x.dim() != 4 or x.shape[1] != self.num_classes:
            raise ValueError(
                f'FCDiscriminator expects maps (B, {self.num_classes}, H, W),'
                f' got {tuple(x.shape)}')
        min_size = 2**self.num_convs
        if min(x.shape[2:]) < min_size:
            raise ValueError(
                f'FCDiscriminator: input size {tuple(x.shape[2:])} is below '
                f'{min_size} x {min_size} (five stride-2 convs); feed larger '
                'maps, e.g. upsample the prediction first')
        out = self.layers(x)
        if self.upsample_to_input:
            out = F.interpolate(
                out,
                size=x.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        return out
