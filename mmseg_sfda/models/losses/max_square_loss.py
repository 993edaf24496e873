"""Maximum squares loss on target predictions (SFDA Eq. 2, MaxSquare)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

_REDUCTIONS = ('paper', 'maxsquare_code')


@MODELS.register_module()
class MaxSquareLoss(nn.Module):
    """Maximum squares loss, an unsupervised target-domain loss (Eq. 2).

    With ``p = softmax(cls_score)`` of shape (B, C, H, W):

    - ``reduction='paper'`` (default, SFDA Eq. 2):
      ``-1/(HW) * sum_hw sum_c p^2``, averaged over the batch, i.e.
      ``-(p ** 2).sum(1).mean()``.
    - ``reduction='maxsquare_code'`` (ZJULearning/MaxSquareLoss
      ``MaxSquareloss``): ``-mean(p ** 2) / 2`` over all N*C*H*W elements,
      i.e. the paper form divided by ``2 * C``.

    The two differ by the constant ``2C``, which interacts with
    ``loss_weight``. Usable as a decode-head ``loss_decode``: ``label`` and
    ``ignore_index`` are accepted for signature compatibility and IGNORED
    (the loss is unsupervised; target ground truth must never shape it).

    Args:
        reduction (str): 'paper' or 'maxsquare_code'. Default: 'paper'.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated by mmseg. Default: 'loss_max_square'.
    """

    def __init__(self,
                 reduction: str = 'paper',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_max_square') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'MaxSquareLoss: reduction must be one of '
                             f'{_REDUCTIONS}, got {reduction!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits (B, C, H, W); softmax is taken over C.
            label: Ignored (kept for the mmseg loss signature).
            weight (Tensor, optional): Per-pixel weight (B, H, W) multiplied
                onto each pixel's term before averaging.
            ignore_index: Ignored (kept for the mmseg loss signature).

        Returns:
            Tensor: Scalar loss (negative; minimising it sharpens predictions).
        """
        if cls_score.dim() != 4:
            raise ValueError('MaxSquareLoss expects logits of shape '
                             f'(B, C, H, W), got {tuple(cls_score.shape)}')
        prob = F.softmax(cls_score.float(), dim=1)
        per_pixel = prob.pow(2).sum(dim=1)  # (B, H, W)
        if weight is not None:
            per_pixel = per_pixel * self._check_weight(weight, per_pixel)
        loss = -per_pixel.mean()
        if self.reduction == 'maxsquare_code':
            loss = loss / (2 * cls_score.shape[1])
        return self.loss_weight * loss

    @staticmethod
    def _check_weight(weight: Tensor, per_pixel: Tensor) -> Tensor:
        """Return ``weight`` as (B, H, W) or raise a clear error."""
        if weight.dim() == 4 and weight.shape[1] == 1:
            weight = weight[:, 0]
        if weight.shape != per_pixel.shape:
            raise ValueError('MaxSquareLoss: weight must be per pixel with '
                             f'shape {tuple(per_pixel.shape)} (B, H, W), got '
                             f'{tuple(weight.shape)}')
        return weight.to(per_pixel.dtype)

    @property
    def loss_name(self) -> str:
        """Name of the loss item (mmseg convention)."""
        return self._loss_name
