"""Instance matching loss of SIM (Eq. 7-8, Alg. 1)."""
from typing import Optional

import torch
from torch import Tensor

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.utils import BaseLoss, check_choice
from mmseg_sfda.models.utils.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.utils.sim_features import _num_images, matched_l1

_REDUCTIONS = ('sim', 'mean')


@MODELS.register_module()
class InstanceMatchingLoss(BaseLoss):
    """L1 from target instances to their nearest source instance (Eq. 8).

    ``L_ins = sum_i sum_k 1/|R_k^t| sum_r min_j ||I(r, f^t) - S_j^k||_1``:
    each target instance feature (from :func:`thing_instance_features`, at
    most z = 10 per class and image) is pulled to the nearest stored source
    instance of its class (:class:`FeatureMemoryBank`, L1 nearest). Classes
    whose bank is not usable are skipped; with nothing matched the loss is
    ``feats.sum() * 0`` (graph kept).

    Readings (default = SIM's code; the other is an option):

    - ``normalize_by_dim=True``: L1 divided by the feature dimension (SIM
      code); False is Eq. 8's raw L1.
    - ``require_full=True``: a class is matched only once its bank is full
      (SIM code waits for ``ptr > z*w``); False: once non-empty.
    - ``reduction='sim'``: per image and class the mean over its instances
      (``1/|R_k^t|``; SIM code divides by min(10, #regions)), summed over
      classes, mean over the ``num_images`` images (SIM trains with batch
      1). ``'mean'``: mean over all matched instances.

    Args:
        reduction (str): 'sim' or 'mean'. Default: 'sim'.
        normalize_by_dim (bool): Divide L1 by the dimension. Default: True.
        require_full (bool): Match only full class banks. Default: True.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (lambda_ci is
            ``SIMSegmentor.lambda_ci``).
        loss_name (str): Loss item name. Default: 'loss_instance_matching'.
    """

    def __init__(self,
                 reduction: str = 'sim',
                 normalize_by_dim: bool = True,
                 require_full: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_instance_matching') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'InstanceMatchingLoss')
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
            feats (Tensor): Target instance features (N, C).
            class_ids (Tensor): (N,) class of each instance.
            bank (FeatureMemoryBank): Source instance bank.
            image_ids (Tensor, optional): (N,) image of each instance; None
                means all come from one image.
            num_images (int, optional): Batch size for ``'sim'``; default
                ``max(image_ids) + 1`` (1 without image_ids).

        Returns:
            Tensor: Scalar loss.
        """
        dist, matched = matched_l1(feats, class_ids, bank,
                                   self.normalize_by_dim, self.require_full)
        if not bool(matched.any()):
            return feats.sum() * 0.
        if self.reduction == 'mean':
            return self.loss_weight * dist[matched].mean()
        class_ids = torch.as_tensor(class_ids, device=feats.device).long()
        if image_ids is None:
            image_ids = torch.zeros_like(class_ids)
        image_ids = torch.as_tensor(image_ids, device=feats.device).long()
        if image_ids.shape != class_ids.shape:
            raise ValueError('InstanceMatchingLoss: image_ids must be '
                             f'{tuple(class_ids.shape)}, got '
                             f'{tuple(image_ids.shape)}')
        # 1/|R_k^t| per (image, class) group of matched instances
        group = image_ids[matched] * (int(class_ids.max()) + 1) + \
            class_ids[matched]
        _, inverse, counts = group.unique(return_inverse=True,
                                          return_counts=True)
        per_item = dist[matched] / counts[inverse].to(dist)
        loss = per_item.sum() / _num_images(image_ids, num_images)
        return self.loss_weight * loss
