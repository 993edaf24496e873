"""Patch-position-conditional discriminator of IPSM (SFDA Sec. 3.3.1)."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class ConditionalPatchDiscriminator(BaseModule):
    """D(k, i_k): is a prediction patch easy or hard at patch position k?

    Input: softmax probability patches (B, num_classes, h, w) and their patch
    indices k in [0, num_patches) (num_patches = K*K, row-major as in
    ``split_patches``). Body: AdaptSegNet/DCGAN-like stack of 4x4 stride-2
    convs, each followed by LeakyReLU(0.2), widths ndf, 2ndf, 4ndf, 8ndf,
    8ndf, ... Conditioning: projection discriminator (Miyato & Koyama) - the
    last feature map is average-pooled, linearly mapped to ``embed_dim``
    (phi), and ``logit = w . phi + b + <embedding(k), phi>`` with an
    ``nn.Embedding(num_patches, embed_dim)`` (paper: dimension 256).
    Average pooling makes it work for any patch size >= 2**num_convs.

    Args:
        num_classes (int): Input channels (= segmentation classes).
        num_patches (int): Number of patch positions K*K.
        embed_dim (int): Label embedding dimension. Default: 256.
        ndf (int): Width of the first conv. Default: 64.
        num_convs (int): Number of stride-2 convs. Default: 4.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 num_patches: int,
                 embed_dim: int = 256,
                 ndf: int = 64,
                 num_convs: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_classes', num_classes),
                            ('num_patches', num_patches),
                            ('embed_dim', embed_dim), ('ndf', ndf),
                            ('num_convs', num_convs)):
            if not (isinstance(value, int) and value > 0):
                raise ValueError('ConditionalPatchDiscriminator: '
                                 f'{name} must be a positive int, got '
                                 f'{value!r}')
        self.num_classes = num_classes
        self.num_patches = num_patches
        self.num_convs = num_convs
        convs = self._build_convs(num_classes, ndf, num_convs)
        self.convs = nn.Sequential(*convs)
        last = ndf * 2**min(num_convs - 1, 3)
        self.phi = nn.Linear(last, embed_dim)
        self.linear = nn.Linear(embed_dim, 1)
        self.embedding = nn.Embedding(num_patches, embed_dim)

    @staticmethod
    def _build_convs(in_channels: int, ndf: int,
                     num_convs: int) -> List[nn.Module]:
        """4x4 stride-2 convs (width doubling up to 8*ndf) + LeakyReLU."""
        layers: List[nn.Module] = []
        for i in range(num_convs):
            out_channels = ndf * 2**min(i, 3)
            layers += [
                nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1),
                nn.LeakyReLU(0.2, inplace=True)
            ]
            in_channels = out_channels
        return layers

    def forward(self, x: Tensor, k: Union[int, Tensor]) -> Tensor:
        """Score prediction patches.

        Args:
            x (Tensor): Probability patches (B, num_classes, h, w).
            k (int | Tensor): Patch index per sample, (B,) integer tensor or
                one int for the whole batch.

        Returns:
            Tensor: One logit per patch, (B,) (> 0 means "hard").
        """
        k = self._check_inputs(x, k)
        feat = self.convs(x).mean(dim=(2, 3))
        phi = self.phi(feat)
        proj = (self.embedding(k) * phi).sum(dim=1)
        return self.linear(phi).squeeze(1) + proj

    def _check_inputs(self, x: Tensor, k: Union[int, Tensor]) -> Tensor:
        """Validate shapes / indices; return k as a (B,) long tensor."""
        if x.dim() != 4 or x.shape[1] != self.num_classes:
            raise ValueError(
                'ConditionalPatchDiscriminator expects patches (B, '
                f'{self.num_classes}, h, w), got {tuple(x.shape)}')
        min_size = 2**self.num_convs
        if min(x.shape[2:]) < min_size:
            raise ValueError(
                f'ConditionalPatchDiscriminator: patch size '
                f'{tuple(x.shape[2:])} is below {min_size} = 2**num_convs; '
                'use larger patches (smaller K) or fewer num_convs')
        if isinstance(k, int):
            k = torch.full((x.shape[0], ), k, device=x.device)
        if (not isinstance(k, Tensor) or k.shape != (x.shape[0], )
                or k.dtype.is_floating_point or k.dtype == torch.bool):
            raise ValueError(
                'ConditionalPatchDiscriminator: k must be an int or an '
                f'integer tensor of shape ({x.shape[0]},), got '
                f'{k if not isinstance(k, Tensor) else (k.dtype, k.shape)}')
        if k.numel() and (k.min() < 0 or k.max() >= self.num_patches):
            raise ValueError(
                'ConditionalPatchDiscriminator: patch indices must be in '
                f'[0, {self.num_patches}), got min {int(k.min())} max '
                f'{int(k.max())}')
        return k.long()
