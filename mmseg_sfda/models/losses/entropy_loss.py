"""Entropy minimisation loss on target predictions (ADVENT MinEnt)."""
from typing import Optional

from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_logits, pixel_weight, softmax_entropy


@MODELS.register_module()
class EntropyLoss(BaseLoss):
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
        loss_weight (float): Multiplier of the loss. Default: 1.0 (MinEnt's
            lambda_ent is ``AdaptSegNetSegmentor.lambda_target_main`` / ``_aux``).
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_ent'.
    """

    def __init__(self,
                 normalize: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ent') -> None:
        super().__init__(loss_weight, loss_name)
        self.normalize = normalize

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
        check_logits(cls_score, 'EntropyLoss')
        _, per_pixel = softmax_entropy(  # (B, H, W)
            cls_score, self.normalize, 'EntropyLoss',
            option='normalising by log C')
        if weight is not None:
            per_pixel = per_pixel * pixel_weight(weight, per_pixel,
                                                 'EntropyLoss')
        return self.loss_weight * per_pixel.mean()
