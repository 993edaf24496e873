"""Confidence-weighted diversity loss (DAS3 Eq. 3)."""
from typing import Optional

import torch
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_logits, pixel_weight, softmax_entropy


@MODELS.register_module()
class WeightedDiversityLoss(BaseLoss):
    """Negative entropy of the confidence-weighted mean prediction (Eq. 3).

    With ``p = softmax(cls_score)`` (B, C, H, W), the pixel entropy ``h``
    (as in Eq. 2) and the pixel weights ``w = exp(-lam * h)``::

        p_hat_c = sum_hw w * p_c / sum_hw w        (weighted MEAN over pixels)
        L_div   = sum_c p_hat_c * log p_hat_c      (averaged over the batch)

    ``lam`` is Eq. 3's lambda (3 in the paper): the temperature of the
    entropy-based pixel weights, so confident pixels (small ``h``) dominate
    the mean prediction. Minimising ``L_div`` (a negative entropy, in
    [-log C, 0]) spreads ``p_hat`` over the classes. The paper writes
    ``p_hat`` as the plain weighted sum; dividing by ``sum_hw w`` makes it a
    distribution (known ambiguity, see the papers README).

    - ``normalize_entropy=True`` (default): ``h`` in the weights is divided
      by ``log C`` (the same ``h`` as :class:`FocalEntropyLoss`), so
      ``w`` lies in [exp(-lam), 1]; ``False`` uses the raw natural-log
      entropy, ``w`` in [C^-lam, 1].
    - ``per_image=True`` (default): one ``p_hat`` per image ("the weighted
      mean output embedding of the target image"), losses averaged over the
      batch; ``False`` pools all pixels of the batch into one ``p_hat``.
    - ``detach_weight=False`` (default, Eq. 3 as written): gradients also
      flow through ``w``; ``True`` treats the weights as constants.

    ``label`` and ``ignore_index`` are accepted for the mmseg loss signature
    and IGNORED (the loss is unsupervised).

    Args:
        lam (float): Eq. 3's lambda. Default: 3.0.
        normalize_entropy (bool): Divide ``h`` by ``log C``. Default: True.
        per_image (bool): Per-image ``p_hat``. Default: True.
        detach_weight (bool): Stop gradients through ``w``. Default: False.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_weighted_diversity'.
    """

    def __init__(self,
                 lam: float = 3.0,
                 normalize_entropy: bool = True,
                 per_image: bool = True,
                 detach_weight: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_weighted_diversity') -> None:
        super().__init__(loss_weight, loss_name)
        self.lam = lam
        self.normalize_entropy = normalize_entropy
        self.per_image = per_image
        self.detach_weight = detach_weight

    def forward(self,
                cls_score: Tensor,
                label: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute Eq. 3.

        Args:
            cls_score (Tensor): Logits (B, C, H, W); softmax is taken over C.
            label: Ignored (kept for the mmseg loss signature).
            weight (Tensor, optional): Extra per-pixel weight (B, H, W) or
                (B, 1, H, W), e.g. a 0/1 valid-pixel mask, multiplied onto
                ``exp(-lam * h)``. An image whose weights are all 0 gets
                ``p_hat = 0`` and contributes 0.
            ignore_index: Ignored (kept for the mmseg loss signature).

        Returns:
            Tensor: Scalar loss (<= 0).
        """
        check_logits(cls_score, 'WeightedDiversityLoss')
        prob, ent = softmax_entropy(cls_score, self.normalize_entropy,
                                    'WeightedDiversityLoss')  # (B, H, W)
        w = torch.exp(-self.lam * ent)
        if self.detach_weight:
            w = w.detach()
        if weight is not None:
            w = w * pixel_weight(weight, w, 'WeightedDiversityLoss')
        w = w.unsqueeze(1)  # (B, 1, H, W)
        dims = (2, 3) if self.per_image else (0, 2, 3)
        p_hat = (w * prob).sum(dim=dims) / w.sum(dim=dims).clamp_min(1e-12)
        neg_ent = (p_hat * torch.log(p_hat.clamp_min(1e-12))).sum(dim=-1)
        return self.loss_weight * neg_ent.mean()
