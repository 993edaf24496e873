"""KLD (model) regularisation of CRST, used in PixIntraDA's second round."""
import math
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_logits, pixel_map, pixel_weight


@MODELS.register_module()
class KLDRegularizationLoss(BaseLoss):
    """KL(uniform || p) confidence regulariser (CRST MRKLD; PixIntraDA T=1).

    PixIntraDA Sec. 5.3 trains a second round (T=1) with "KLD
    regularization [52]" (CRST) against over-fitting to pseudo labels. Per
    pixel, with ``p = softmax(cls_score)``:

    - ``zero_at_uniform=False`` (default, yzou2/CRST ``reg_loss_calc``:
      ``sum(-log_softmax / C)`` over pseudo-labelled pixels, divided by their
      count): ``r = -(1/C) sum_c log p_c``, which is ``log C`` at the
      uniform prediction.
    - ``zero_at_uniform=True``: the exact ``KL(u || p) = r - log C`` (>= 0,
      0 at uniform). Same gradient; only the reported value shifts.

    Pixels averaged over: as CRST, those with a pseudo label
    (``label != ignore_index``) when ``label`` is given and
    ``only_labeled=True`` (default); every pixel otherwise. CRST's
    per-image ``reg_weights`` generalise to the per-pixel ``weight``, which
    multiplies each term (the count is not re-weighted, as CRST).

    Args:
        zero_at_uniform (bool): Subtract ``log C``. Default: False (CRST).
        only_labeled (bool): Average over pseudo-labelled pixels only when a
            label is passed. Default: True (CRST).
        loss_weight (float): Multiplier of the loss. Default: 1.0 (CRST's
            ``mr_weight_kld`` is the segmentor's, e.g.
            ``PixIntraDASegmentor.lambda_kld``).
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_kld'.
    """

    def __init__(self,
                 zero_at_uniform: bool = False,
                 only_labeled: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_kld') -> None:
        super().__init__(loss_weight, loss_name)
        self.zero_at_uniform = zero_at_uniform
        self.only_labeled = only_labeled

    def forward(self,
                cls_score: Tensor,
                label: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits (B, C, H, W).
            label (Tensor, optional): Pseudo labels (B, H, W) or
                (B, 1, H, W); only selects pixels (``!= ignore_index``).
            weight (Tensor, optional): Per-pixel weight (B, H, W) or
                (B, 1, H, W).
            ignore_index (int): Label of pixels without a pseudo label.
                Default: 255.

        Returns:
            Tensor: Scalar loss (0 with a graph when no pixel is selected).
        """
        check_logits(cls_score, 'KLDRegularizationLoss')
        num_classes = cls_score.shape[1]
        log_p = F.log_softmax(cls_score.float(), dim=1)
        per_pixel = -log_p.mean(dim=1)  # (B, H, W)
        if self.zero_at_uniform:
            per_pixel = per_pixel - math.log(num_classes)
        if weight is not None:
            per_pixel = per_pixel * pixel_weight(weight, per_pixel,
                                                 'KLDRegularizationLoss')
        if label is None or not self.only_labeled:
            return self.loss_weight * per_pixel.mean()
        valid = pixel_map(label, per_pixel, 'KLDRegularizationLoss',
                          'label') != ignore_index
        if not valid.any():
            return per_pixel.sum() * 0.
        return self.loss_weight * per_pixel[valid].mean()
