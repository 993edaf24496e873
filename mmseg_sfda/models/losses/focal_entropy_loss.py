"""Focal entropic loss of implicit feature alignment (DAS3 Eq. 2)."""
from typing import Optional

from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_logits, pixel_weight, softmax_entropy


@MODELS.register_module()
class FocalEntropyLoss(BaseLoss):
    """Focal entropic loss on target predictions (DAS3 Eq. 2).

    With ``p = softmax(cls_score)`` of shape (B, C, H, W) and the per-pixel
    entropy ``h = -sum_c p_c log p_c``::

        L_fel = mean_{b,h,w} [ (1 - h)^gamma * h ]

    ``gamma`` (3) is the paper's Sec. 4.1 value; Eq. 2's constant alpha (0.002) is
    ``DAS3Segmentor.alpha`` (the segmentor owns the paper's weights).

    ``detach_weight=True`` (default): the focal factor ``(1 - h)^gamma`` is a
    per-pixel weight without gradient (Eq. 2's intent: "down-weight the
    contribution of uncertain predictions"), so the gradient is
    ``(1 - h)^gamma * dh``: every pixel's entropy is lowered, certain
    pixels the most. ``False`` differentiates the product,
    ``d[(1 - h)^gamma h] = (1 - h)^(gamma - 1) (1 - (1 + gamma) h) dh``, which
    for normalised ``h > 1 / (1 + gamma)`` (1/4 at gamma 3) RAISES the entropy.

    - ``normalize_entropy=True`` (default): ``h`` is divided by ``log C`` so
      it lies in [0, 1] and ``(1 - h)^gamma`` is a non-negative weight
      (known ambiguity of Eq. 2, see the papers README).
    - ``normalize_entropy=False``: the literal natural-log entropy in
      [0, log C]. For ``C >= 3`` it can exceed 1, so with odd ``gamma`` the
      factor (and the loss) turns negative there; a non-integer ``gamma`` is
      refused in this mode (a negative base would give NaN).

    Usable as a decode-head ``loss_decode``: ``label`` and ``ignore_index``
    are accepted for signature compatibility and IGNORED (the loss is
    unsupervised).

    Args:
        gamma (float): Focusing exponent of Eq. 2. Default: 3.
        normalize_entropy (bool): Divide ``h`` by ``log C``. Default: True.
        detach_weight (bool): No gradient through ``(1 - h)^gamma``.
            Default: True.
        loss_weight (float): Multiplier of the loss (mmseg's; Eq. 2's alpha is the
            segmentor's). Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_focal_entropy'.
    """

    def __init__(self,
                 gamma: float = 3.0,
                 normalize_entropy: bool = True,
                 detach_weight: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal_entropy') -> None:
        super().__init__(loss_weight, loss_name)
        if gamma < 0:
            raise ValueError(
                f'FocalEntropyLoss: gamma must be >= 0, got {gamma!r}')
        if not normalize_entropy and float(gamma) != int(gamma):
            raise ValueError(
                'FocalEntropyLoss: with normalize_entropy=False the base '
                '(1 - h) can be negative, so gamma must be an integer, got '
                f'{gamma!r}')
        self.gamma = gamma
        self.normalize_entropy = normalize_entropy
        self.detach_weight = detach_weight

    def forward(self,
                cls_score: Tensor,
                label: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute Eq. 2.

        Args:
            cls_score (Tensor): Logits (B, C, H, W); softmax is taken over C.
            label: Ignored (kept for the mmseg loss signature).
            weight (Tensor, optional): Per-pixel weight (B, H, W) or
                (B, 1, H, W) multiplied onto each pixel's term before
                averaging over all B*H*W pixels.
            ignore_index: Ignored (kept for the mmseg loss signature).

        Returns:
            Tensor: Scalar loss.
        """
        check_logits(cls_score, 'FocalEntropyLoss')
        _, ent = softmax_entropy(cls_score, self.normalize_entropy,
                                 'FocalEntropyLoss')  # (B, H, W)
        focal = (1. - ent).pow(self.gamma)
        if self.detach_weight:
            focal = focal.detach()
        per_pixel = focal * ent
        if weight is not None:
            per_pixel = per_pixel * pixel_weight(weight, per_pixel,
                                                 'FocalEntropyLoss')
        return self.loss_weight * per_pixel.mean()
