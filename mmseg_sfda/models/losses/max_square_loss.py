"""Maximum squares loss on target predictions (SFDA Eq. 2, MaxSquare)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice, check_logits, pixel_weight

_REDUCTIONS = ('paper', 'maxsquare_code')


@MODELS.register_module()
class MaxSquareLoss(BaseLoss):
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
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'MaxSquareLoss')
        self.reduction = reduction

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
        check_logits(cls_score, 'MaxSquareLoss')
        prob = F.softmax(cls_score.float(), dim=1)
        per_pixel = prob.pow(2).sum(dim=1)  # (B, H, W)
        if weight is not None:
            per_pixel = per_pixel * pixel_weight(weight, per_pixel,
                                                 'MaxSquareLoss')
        loss = -per_pixel.mean()
        if self.reduction == 'maxsquare_code':
            loss = loss / (2 * cls_score.shape[1])
        return self.loss_weight * loss
