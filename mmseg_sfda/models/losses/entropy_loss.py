"""Entropy minimisation loss on target predictions (ADVENT MinEnt)."""
import math
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class EntropyLoss(nn.Module):
    """Mean pixel entropy of the softmax prediction (ADVENT's MinEnt).

    With ``p = softmax(cls_score)`` of shape (B, C, H, W) the loss is
    ``1/(BHW) * sum_bhw (-sum_c p log p) / log C``. valeoai/ADVENT
    ``entropy_loss`` computes ``-sum(p * log2(p + 1e-30)) / (n*h*w*log2(C))``
    - the same value, since ``log2(p) / log2(C) = ln(p) / ln(C)``; so with
    ``normalize=True`` (default) the loss lies in [0, 1] and equals ADVENT's
    for any log base. ``normalize=False`` gives the entropy in nats (the
    ``log C`` factor interacts with ``loss_weight``). We use
    ``-p * log_softmax`` (exact) instead of ADVENT's ``+1e-30``.

    Usable as a decode-head ``loss_decode``: ``label`` and ``ignore_index``
    are accepted for signature compatibility and IGNORED (the loss is
    unsupervised; target ground truth must never shape it).

    Args:
        normalize (bool): Divide by ``log C``. Default: True (ADVENT).
        loss_weight (float): Multiplier (lambda_ent). Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_ent'.
    """

    def __init__(self,
                 normalize: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ent') -> None:
        super().__init__()
        self.normalize = normalize
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
            weight (Tensor, optional): Per-pixel weight (B, H, W) or
                (B, 1, H, W) multiplied onto each pixel's entropy before
                averaging over all B*H*W pixels.
            ignore_index: Ignored (kept for the mmseg loss signature).

        Returns:
            Tensor: Scalar loss.
        """
        if cls_score.dim() != 4:
            raise ValueError('EntropyLoss expects logits of shape '
                             f'(B, C, H, W), got {tuple(cls_score.shape)}')
        num_classes = cls_score.shape[1]
        if self.normalize and num_classes < 2:
            raise ValueError('EntropyLoss: normalising by log C needs C >= 2 '
                             f'classes, got C={num_classes}')
        log_p = F.log_softmax(cls_score.float(), dim=1)
        per_pixel = -(log_p.exp() * log_p).sum(dim=1)  # (B, H, W)
        if self.normalize:
            per_pixel = per_pixel / math.log(num_classes)
        if weight is not None:
            per_pixel = per_pixel * self._check_weight(weight, per_pixel)
        return self.loss_weight * per_pixel.mean()

    @staticmethod
    def _check_weight(weight: Tensor, per_pixel: Tensor) -> Tensor:
        """Return ``weight`` as (B, H, W) or raise a clear error."""
        if weight.dim() == 4 and weight.shape[1] == 1:
            weight = weight[:, 0]
        if weight.shape != per_pixel.shape:
            raise ValueError('EntropyLoss: weight must be per pixel with '
                             f'shape {tuple(per_pixel.shape)} (B, H, W), got '
                             f'{tuple(weight.shape)}')
        return weight.to(per_pixel.dtype)

    @property
    def loss_name(self) -> str:
        """Name of the loss item (mmseg convention)."""
        return self._loss_name
