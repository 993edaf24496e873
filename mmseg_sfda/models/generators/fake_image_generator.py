"""Generator of fake source images from Gaussian noise (SFDA Eq. 3)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class FakeImageGenerator(BaseModule):
    """DCGAN-style generator x~ = G(z), z ~ N(0, 1) (Eq. 3).

    Follows DFAD's ``GeneratorA``: ``z -> Linear -> reshape (2*ngf, h0, w0)
    -> BN -> [nearest x2 upsample -> 3x3 conv -> BN -> LeakyReLU(0.2)] *
    num_upsamples -> 3x3 conv to out_channels -> tanh -> BatchNorm(affine=
    False)``. Blocks keep 2*ngf channels except the last, which has ngf.
    The final affine-free BN makes each output channel ~zero mean / unit std
    over the batch (in train mode), the value range of images normalised by
    the data preprocessor. ``h0, w0 = out_size / 2**num_upsamples``; DFAD's
    GeneratorA uses 2 upsamples on 32x32 images, the default 4 here keeps the
    linear layer small (8x16 seed for 128x256: 256 -> 16384, 4.2M weights).

    Args:
        latent_dim (int): Dimension of z (paper: 256). Default: 256.
        out_size (tuple[int, int]): Output (H, W). Default: (128, 256),
            i.e. 256x128 images (Sec. 4.1.2).
        out_channels (int): Image channels. Default: 3.
        ngf (int): Base width. Default: 64.
        num_upsamples (int): Number of x2 upsampling blocks; H and W must be
            divisible by 2**num_upsamples. Default: 4.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 latent_dim: int = 256,
                 out_size: Sequence[int] = (128, 256),
                 out_channels: int = 3,
                 ngf: int = 64,
                 num_upsamples: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_size = self._check_size(out_size, num_upsamples)
        for name, value in (('latent_dim', latent_dim), ('ngf', ngf),
                            ('out_channels', out_channels)):
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f'FakeImageGenerator: {name} must be a '
                                 f'positive int, got {value!r}')
        self.latent_dim = latent_dim
        self.num_upsamples = num_upsamples
        scale = 2**num_upsamples
        self.seed_size = (self.out_size[0] // scale, self.out_size[1] // scale)
        self.seed_channels = ngf * 2
        self.project = nn.Linear(
            latent_dim,
            self.seed_channels * self.seed_size[0] * self.seed_size[1])
        self.seed_norm = nn.BatchNorm2d(self.seed_channels)
        self.blocks = nn.ModuleList(self._build_blocks(ngf, num_upsamples))
        last = ngf if num_upsamples > 0 else self.seed_channels
        self.to_image = nn.Conv2d(last, out_channels, 3, padding=1)
        self.out_norm = nn.BatchNorm2d(out_channels, affine=False)

    @staticmethod
    def _check_size(out_size: Sequence[int],
                    num_upsamples: int) -> Tuple[int, int]:
        """Validate (H, W) against the upsampling factor."""
        if not (isinstance(num_upsamples, int) and num_upsamples >= 0):
            raise ValueError('FakeImageGenerator: num_upsamples must be an '
                             f'int >= 0, got {num_upsamples!r}')
        if (not isinstance(out_size, (list, tuple)) or len(out_size) != 2
                or not all(isinstance(s, int) and s > 0 for s in out_size)):
            raise ValueError('FakeImageGenerator: out_size must be (H, W) '
                             f'positive ints, got {out_size!r}')
        scale = 2**num_upsamples
        if out_size[0] % scale or out_size[1] % scale:
            raise ValueError(
                f'FakeImageGenerator: out_size={tuple(out_size)} is not '
                f'divisible by 2**num_upsamples={scale}; use a size that is a '
                'multiple of it or lower num_upsamples')
        return int(out_size[0]), int(out_size[1])

    def _build_blocks(self, ngf: int, num_upsamples: int) -> List[nn.Module]:
        """Upsample + 3x3 conv + BN + LeakyReLU blocks (last one -> ngf)."""
        blocks = []
        for i in range(num_upsamples):
            out_ch = ngf if i == num_upsamples - 1 else self.seed_channels
            blocks.append(
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode='nearest'),
                    nn.Conv2d(self.seed_channels, out_ch, 3, padding=1),
                    nn.BatchNorm2d(out_ch), nn.LeakyReLU(0.2, inplace=True)))
        return blocks

    def forward(self, z: Tensor) -> Tensor:
        """Map noise (B, latent_dim) or (B, latent_dim, 1, 1) to images.

        Returns:
            Tensor: Fake images (B, out_channels, H, W).
        """
        if z.dim() not in (2, 4) or z[0].numel() != self.latent_dim:
            raise ValueError(
                f'FakeImageGenerator: z must be (B, {self.latent_dim}) or '
                f'(B, {self.latent_dim}, 1, 1), got {tuple(z.shape)}')
        x = self.project(z.flatten(1))
        x = x.view(z.shape[0], self.seed_channels, *self.seed_size)
        x = self.seed_norm(x)
        for block in self.blocks:
            x = block(x)
        return self.out_norm(torch.tanh(self.to_image(x)))

    def draw_noise(self,
                   batch_size: int,
                   generator: Optional[torch.Generator] = None) -> Tensor:
        """Draw z ~ N(0, 1) (Eq. 3), (B, latent_dim), on the generator's device.

        Args:
            batch_size (int): Number of noise vectors.
            generator (torch.Generator, optional): RNG for reproducible z,
                on the generator's device.
        """
        if not (isinstance(batch_size, int) and batch_size > 0):
            raise ValueError('FakeImageGenerator: batch_size must be a '
                             f'positive int, got {batch_size!r}')
        param = self.project.weight
        return torch.randn(
            batch_size,
            self.latent_dim,
            generator=generator,
            device=param.device,
            dtype=param.dtype)

    def sample(self,
               batch_size: int,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """Return G(z) for fresh noise z (:meth:`draw_noise`), (B, C, H, W)."""
        return self(self.draw_noise(batch_size, generator))
