"""Continuously indexed adversarial loss of PixIntraDA (Eq. 7-8)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice

_MODES = ('discriminator', 'generator')
_REDUCTIONS = ('mean', 'sum')


@MODELS.register_module()
class ContinuousIndexLoss(BaseLoss):
    """Squared-error regression of a per-pixel continuous domain index.

    After CIDA, the discriminator regresses ``Z`` (Eq. 7, see
    ``PixIntraDASegmentor.pixel_split``): 0 on easy pixels, ``1 - max_k y^k`` (from
    G_inter) on hard ones. Eq. 8:

    - ``mode='discriminator'``: ``||D(G(x)) - Z||_F^2``, every pixel.
    - ``mode='generator'``: ``||D(G(x)) o M||_F^2`` - the segmentor pushes
      D's output on HARD pixels (M = 1) to 0, the index of easy pixels;
      easy pixels are left to the partial segmentation loss (Eq. 5).

    ``D(G(x))`` is ``sigmoid(d_out)`` when ``use_sigmoid=True`` (default:
    Eq. 8 uses the same D as Eq. 6, whose output is a probability, and
    Z is in [0, 1)); ``use_sigmoid=False`` regresses the raw output (CIDA).

    Reduction: ``'mean'`` (default) divides the squared Frobenius norm by
    the number of elements B*K*h*w in both modes (a constant factor that
    the segmentor's ``lambda_adv_<level>`` (beta) absorbs; keeps the scale of a per-pixel-averaged
    Eq. 5); ``'sum'`` is Eq. 8 as written (summed over the batch).

    Args:
        use_sigmoid (bool): Apply a sigmoid to the discriminator output.
            Default: True.
        reduction (str): 'mean' or 'sum'. Default: 'mean'.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (beta of Eq. 9
            is ``PixIntraDASegmentor.lambda_adv_main`` / ``_aux``).
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_cts'.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_cts') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'ContinuousIndexLoss')
        self.use_sigmoid = use_sigmoid
        self.reduction = reduction

    def forward(self,
                d_out: Tensor,
                index: Optional[Tensor] = None,
                hard_mask: Optional[Tensor] = None,
                mode: str = 'discriminator',
                **kwargs) -> Tensor:
        """Compute Eq. 8.

        Args:
            d_out (Tensor): Discriminator output (B, K, h, w) (K = 1 for
                ``FCDiscriminator``).
            index (Tensor, optional): Z (B, H, W) / (B, 1, H, W); needed in
                discriminator mode.
            hard_mask (Tensor, optional): M (B, H, W) / (B, 1, H, W), True /
                1 = hard; needed in generator mode.
            mode (str): 'discriminator' or 'generator'.

        ``index`` / ``hard_mask`` are detached (fixed targets from G_inter)
        and, at another size, resized to d_out's with nearest
        interpolation.

        Returns:
            Tensor: Scalar loss.
        """
        check_choice(mode, _MODES, 'ContinuousIndexLoss', 'mode')
        if d_out.dim() != 4:
            raise ValueError('ContinuousIndexLoss expects discriminator '
                             f'outputs (B, K, h, w), got {tuple(d_out.shape)}')
        d = d_out.float()
        if self.use_sigmoid:
            d = torch.sigmoid(d)
        if mode == 'discriminator':
            if index is None:
                raise ValueError('ContinuousIndexLoss: discriminator mode '
                                 'needs the continuous index Z (index=...)')
            sq = (d - self._per_pixel(index, d, 'index')).pow(2)
        else:
            if hard_mask is None:
                raise ValueError('ContinuousIndexLoss: generator mode needs '
                                 'the hard mask M (hard_mask=...)')
            sq = (d * self._per_pixel(hard_mask, d, 'hard_mask')).pow(2)
        loss = sq.sum() if self.reduction == 'sum' else sq.mean()
        return self.loss_weight * loss

    @staticmethod
    def _per_pixel(x: Tensor, d: Tensor, name: str) -> Tensor:
        """(B, H, W) / (B, 1, H, W) -> float (B, 1, h, w) at d's size."""
        if x.dim() == 3:
            x = x[:, None]
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[0] != d.shape[0]:
            raise ValueError(
                f'ContinuousIndexLoss: {name} must be per pixel, (B, H, W) '
                f'or (B, 1, H, W) with B={d.shape[0]}, got {tuple(x.shape)}')
        x = x.detach().to(device=d.device, dtype=d.dtype)  # a fixed target
        if x.shape[2:] != d.shape[2:]:
            x = F.interpolate(x, size=d.shape[2:], mode='nearest')
        return x
