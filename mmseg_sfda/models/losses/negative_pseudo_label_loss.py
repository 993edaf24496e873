"""Negative pseudo-label loss of bi-directional self-training (DAS3 Eq. 7)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice, check_logits, pixel_weight

_REDUCTIONS = ('mean', 'paper_sum')


@MODELS.register_module()
class NegativePseudoLabelLoss(BaseLoss):
    """Complementary (negative) label loss ``-sum_c delta_c log(1 - p_c)``.

    ``neg_mask`` is Eq. 6's ``delta``: True where class ``c`` is a negative
    pseudo label of the pixel (``p_c < lambda_neg`` under the fixed
    pseudo-labelling model, see :meth:`negative_mask`). With
    ``p = softmax(cls_score)`` of the model being trained::

        per_pixel = -sum_c delta_c * log(1 - p_c)

    - ``reduction='mean'`` (default): ``per_pixel`` averaged over all
      B*H*W pixels, i.e. Eq. 7's ``1/n_t sum_i sum_j`` read the way Eq. 5
      (the positive-label cross-entropy, written with the same prefactor)
      is implemented by a standard pixel-mean CE, so ``L_ppl + L_npl``
      (Eq. 8) keeps both terms on one scale. Pixels without negative
      labels count with 0.
    - ``reduction='paper_sum'``: Eq. 7 literally, summed over the H*W
      pixels and divided by the number of images only (= ``'mean'`` times
      H*W; its scale grows with the crop size).

    ``log(1 - p_c)`` is computed stably: ``log1p(-p_c)`` for every class
    but the pixel's arg-max (where ``p_c <= 1/2``), and
    ``logsumexp_{k != c} z_k - logsumexp_k z_k`` for the arg-max class, so
    neither value nor gradient overflows when ``p_c -> 1``.

    Args:
        reduction (str): 'mean' or 'paper_sum'. Default: 'mean'.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_npl'.
    """

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_npl') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'NegativePseudoLabelLoss')
        self.reduction = reduction

    @staticmethod
    def negative_mask(prob: Tensor, threshold: float = 0.05) -> Tensor:
        """Eq. 6: ``delta = p < lambda_neg`` (paper: ``lambda_neg = 0.05``).

        Args:
            prob (Tensor): Probabilities (B, C, H, W) of the fixed model.
            threshold (float): ``lambda_neg``. Default: 0.05.

        Returns:
            Tensor: Bool mask (B, C, H, W).
        """
        check_logits(prob, 'NegativePseudoLabelLoss.negative_mask',
                     what='probabilities')
        return prob < threshold

    @staticmethod
    def log_one_minus_softmax(cls_score: Tensor) -> Tensor:
        """Stable ``log(1 - softmax(cls_score, 1))`` of (B, C, H, W) logits."""
        logits = cls_score.float()
        prob = F.softmax(logits, dim=1)
        is_max = F.one_hot(
            logits.argmax(dim=1), logits.shape[1]).permute(0, 3, 1, 2).bool()
        # non-arg-max classes: p <= 1/2, log1p is accurate; the arg-max entry
        # is zeroed so its (unused) branch stays finite for autograd
        log1m = torch.log1p(-prob.masked_fill(is_max, 0.))
        others = torch.logsumexp(
            logits.masked_fill(is_max, float('-inf')), dim=1, keepdim=True)
        log1m_max = others - torch.logsumexp(logits, dim=1, keepdim=True)
        return torch.where(is_max, log1m_max, log1m)

    def forward(self,
                cls_score: Tensor,
                neg_mask: Tensor,
                weight: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Compute Eq. 7.

        Args:
            cls_score (Tensor): Logits (B, C, H, W) of the trained model.
            neg_mask (Tensor): Negative labels ``delta`` (B, C, H, W), bool
                (or 0/1); False everywhere at ignored pixels.
            weight (Tensor, optional): Per-pixel weight (B, H, W) or
                (B, 1, H, W) multiplied onto ``per_pixel``.

        Returns:
            Tensor: Scalar loss (>= 0).
        """
        check_logits(cls_score, 'NegativePseudoLabelLoss')
        if neg_mask.shape != cls_score.shape:
            raise ValueError(
                'NegativePseudoLabelLoss: neg_mask must have the logits\' '
                f'shape {tuple(cls_score.shape)} (B, C, H, W), got '
                f'{tuple(neg_mask.shape)}')
        if cls_score.shape[1] < 2:
            raise ValueError('NegativePseudoLabelLoss needs C >= 2 classes, '
                             f'got C={cls_score.shape[1]}')
        log1m = self.log_one_minus_softmax(cls_score)
        mask = neg_mask.to(log1m.dtype)
        # masked_fill keeps 0 * (-inf) out when an unmasked p_c == 1
        per_pixel = -(log1m.masked_fill(mask == 0, 0.) * mask).sum(dim=1)
        if weight is not None:
            per_pixel = per_pixel * pixel_weight(weight, per_pixel,
                                                 'NegativePseudoLabelLoss')
        if self.reduction == 'mean':
            loss = per_pixel.mean()
        else:
            loss = per_pixel.sum() / per_pixel.shape[0]
        return self.loss_weight * loss
