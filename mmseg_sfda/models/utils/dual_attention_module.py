"""Dual attention module (DAM) for attention distillation (SFDA Eq. 8-10)."""
from typing import NamedTuple, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS

_SPATIAL_PRODUCTS = ('danet', 'literal')


class DualAttentionMaps(NamedTuple):
    """Outputs of :class:`DualAttentionModule` (N = H1 * W1).

    Attributes:
        spatial (Tensor): S, (B, N, N); row j is softmax_i (Eq. 8).
        channel (Tensor): R, (B, C, C); row j is softmax_i (Eq. 9).
        dual (Tensor): A = concat(F.S | R.F), (B, 2C, N) (Eq. 10).
    """
    spatial: Tensor
    channel: Tensor
    dual: Tensor


@MODELS.register_module()
class DualAttentionModule(BaseModule):
    """Parameter-light dual attention module used by the DAD losses.

    With the feature F laid out as C x N (N = H1 * W1 positions):

    - spatial map (Eq. 8): ``S[j, i] = softmax_i(F[:, i] . F[:, j] / T)``,
      the impact of position i on position j (rows sum to 1);
    - channel map (Eq. 9): ``R[j, i] = softmax_i(F[i, :] . F[j, :] / T)``;
    - dual map (Eq. 10): ``A = concat(F.S | R.F)`` along channels, (2C, N).
      Eq. 10 is only dimensionally consistent with F as C x N (DANet form).
      ``spatial_product='danet'`` (default) aggregates as DANet's position
      attention, ``out[:, j] = sum_i S[j, i] F[:, i]`` (= F.S^T, each output
      position a convex combination, like R.F for channels);
      ``'literal'`` takes Eq. 10 at face value, ``F.S`` (columns of S).
    - ``T`` is ``temperature`` (the paper has no temperature: 1.0).

    Projection: the paper says F is fed into convolutional layers, but
    Eq. 8-10 are written on F itself; ``channels=None`` (default) follows the
    equations (no parameters). ``channels=int`` adds a 1x1 conv
    ``in_channels -> channels`` (no bias); it is frozen unless
    ``trainable_projection=True``, because a projection trained to minimise
    Eq. 6/12 can collapse towards zero. Use ONE module for both the frozen
    and the trained model so their maps are comparable.

    Memory: S holds B * N^2 floats. Features at 1/8 of a 256x128 fake image
    give N = 32 * 16 = 512 (1 MiB per image); a 512x256 target image at 1/8
    gives N = 2048 (16 MiB per image), hence ``output_size`` (adaptive
    average pooling before the DAM, Sec. 4.1.2) to match the fake size.

    Args:
        in_channels (int, optional): Feature channels C1; checked when given,
            required when ``channels`` is set.
        channels (int, optional): Output channels of the 1x1 projection;
            None = no projection. Default: None.
        temperature (float): Softmax temperature. Default: 1.0.
        spatial_product (str): 'danet' or 'literal'. Default: 'danet'.
        trainable_projection (bool): Let the projection learn.
            Default: False.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 channels: Optional[int] = None,
                 temperature: float = 1.0,
                 spatial_product: str = 'danet',
                 trainable_projection: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self._check_args(in_channels, channels, temperature, spatial_product)
        self.in_channels = in_channels
        self.channels = channels
        self.temperature = float(temperature)
        self.spatial_product = spatial_product
        self.projection: Optional[nn.Conv2d] = None
        if channels is not None:
            self.projection = nn.Conv2d(in_channels, channels, 1, bias=False)
            self.projection.requires_grad_(trainable_projection)

    @staticmethod
    def _check_args(in_channels: Optional[int], channels: Optional[int],
                    temperature: float, spatial_product: str) -> None:
        """Raise a clear error for an inconsistent configuration."""
        if spatial_product not in _SPATIAL_PRODUCTS:
            raise ValueError('DualAttentionModule: spatial_product must be '
                             f'one of {_SPATIAL_PRODUCTS}, got '
                             f'{spatial_product!r}')
        if not temperature > 0:
            raise ValueError('DualAttentionModule: temperature must be > 0, '
                             f'got {temperature!r}')
        if channels is not None and in_channels is None:
            raise ValueError('DualAttentionModule: channels='
                             f'{channels} needs in_channels for the 1x1 '
                             'projection; set in_channels to the feature '
                             'channels')

    def forward(
        self,
        x: Tensor,
        output_size: Optional[Union[int, Sequence[int]]] = None
    ) -> DualAttentionMaps:
        """Compute S, R and A of a feature map.

        Args:
            x (Tensor): Backbone feature F, (B, C1, H1, W1).
            output_size (int | (h, w), optional): Adaptive-average-pool the
                feature to this size first (e.g. target features to the fake
                feature size, so N matches for Eq. 7).

        Returns:
            DualAttentionMaps: (spatial (B, N, N), channel (B, C, C),
            dual (B, 2C, N)) with C = ``channels`` or C1.
        """
        self._check_input(x)
        if output_size is not None:
            x = F.adaptive_avg_pool2d(x, output_size)
        if self.projection is not None:
            x = self.projection(x)
        feat = x.float().flatten(2)  # (B, C, N)
        spatial = self._softmax(torch.bmm(feat.transpose(1, 2), feat))
        channel = self._softmax(torch.bmm(feat, feat.transpose(1, 2)))
        if self.spatial_product == 'danet':
            spatial_out = torch.bmm(feat, spatial.transpose(1, 2))
        else:
            spatial_out = torch.bmm(feat, spatial)
        dual = torch.cat([spatial_out, torch.bmm(channel, feat)], dim=1)
        return DualAttentionMaps(spatial, channel, dual)

    def _softmax(self, energy: Tensor) -> Tensor:
        """Row-wise softmax (over the last dim, index i) of Eq. 8/9."""
        return F.softmax(energy / self.temperature, dim=-1)

    def _check_input(self, x: Tensor) -> None:
        """Raise a clear error for a feature of the wrong shape."""
        if x.dim() != 4:
            raise ValueError('DualAttentionModule expects a feature map '
                             f'(B, C, H, W), got shape {tuple(x.shape)}')
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise ValueError(
                f'DualAttentionModule: feature has {x.shape[1]} channels but '
                f'in_channels={self.in_channels}; set in_channels to match')
