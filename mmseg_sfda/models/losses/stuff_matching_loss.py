"""Stuff matching loss of SIM (Eq. 4-6)."""
from typing import Optional

from torch import Tensor

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.utils import BaseLoss, check_choice
from mmseg_sfda.models.utils.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.utils.sim_features import _num_images, matched_l1

_REDUCTIONS = ('sim', 'mean')


@MODELS.register_module()
class StuffMatchingLoss(BaseLoss):
    """L1 from target stuff features to their nearest source sample (Eq. 6).

    ``L_stf = sum_i sum_b min_j ||A^b(L_P^t, f^t) - S_j^b||_1``: each target
    class-mean (from :func:`stuff_class_means`) is pulled to the nearest
    stored source feature of its class (:class:`FeatureMemoryBank`, L1
    nearest). Classes whose bank is not usable are skipped; with nothing
    matched the loss is ``feats.sum() * 0`` (graph kept).

    Readings (default = SIM's code; the other is an option):

    - ``normalize_by_dim=True``: each L1 distance is divided by the feature
      dimension (SIM code: ``/ 2048``); False is Eq. 6's raw L1.
    - ``require_full=True``: a class is matched only once its bank is full
      (SIM code waits for ``ptr > w``: no matching against unfilled
      slots); False matches as soon as one feature is stored.
    - ``reduction='sim'``: sum over the classes of each image, mean over the
      ``num_images`` images (Eq. 6 per image; SIM trains with batch 1).
      ``'mean'``: mean over all matched features.

    Args:
        reduction (str): 'sim' or 'mean'. Default: 'sim'.
        normalize_by_dim (bool): Divide L1 by the dimension. Default: True.
        require_full (bool): Match only full class banks. Default: True.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (lambda_ci is
            ``SIMSegmentor.lambda_ci``).
        loss_name (str): Loss item name. Default: 'loss_stuff_matching'.
    """

    def __init__(self,
                 reduction: str = 'sim',
                 normalize_by_dim: bool = True,
                 require_full: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_stuff_matching') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'StuffMatchingLoss')
        self.reduction = reduction
        self.normalize_by_dim = normalize_by_dim
        self.require_full = require_full

    def forward(self,
                feats: Tensor,
                class_ids: Tensor,
                bank: FeatureMemoryBank,
                image_ids: Optional[Tensor] = None,
                num_images: Optional[int] = None) -> Tensor:
        """Compute the loss.

        Args:
            feats (Tensor): Target stuff class means (N, C).
            class_ids (Tensor): (N,) class of each mean.
            bank (FeatureMemoryBank): Source stuff bank.
            image_ids (Tensor, optional): (N,) image of each mean (only
                needed to infer ``num_images``).
            num_images (int, optional): Batch size for ``'sim'``; default
                ``max(image_ids) + 1`` (1 without image_ids). Pass it so that
                images with no match still count.

        Returns:
            Tensor: Scalar loss.
        """
        dist, matched = matched_l1(feats, class_ids, bank,
                                   self.normalize_by_dim, self.require_full)
        if not bool(matched.any()):
            return feats.sum() * 0.
        if self.reduction == 'mean':
            loss = dist[matched].mean()
        else:
            loss = dist[matched].sum() / _num_images(image_ids, num_images)
        return self.loss_weight * loss
