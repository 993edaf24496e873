"""Instance matching loss of SIM (Eq. 7-8, Alg. 1)."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmseg.registry import MODELS
from mmseg_sfda.models.heads.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.losses.stuff_matching_loss import (_num_images,
                                                          matched_l1)
from mmseg_sfda.models.losses.utils import BaseLoss, check_choice
from mmseg_sfda.models.utils.instances import (classifier_agrees,
                                               correct_label_map,
                                               extract_instances,
                                               masked_mean_features)

_REDUCTIONS = ('sim', 'mean')


def thing_instance_features(
    feat: Tensor,
    label: Tensor,
    thing_classes: Sequence[int],
    max_per_class: Optional[int] = 10,
    ignore_index: int = 255,
    pred: Optional[Tensor] = None,
    classifier: Optional[Callable[[Tensor], Tensor]] = None,
    connectivity: int = 8
) -> Tuple[Tensor, Tensor, Tensor]:
    """Instance features ``I(r, f)`` of each image's thing regions (Eq. 7).

    As in SIM's code, ``label`` is first resized (nearest) to the feature
    size; with ``pred`` (source step) only correctly classified pixels count
    (Eq. 4). Instances are the ``max_per_class`` largest connected regions
    per thing class (:func:`extract_instances`). With ``classifier`` an
    instance is kept only if the classifier re-predicts its class (SIM's code
    does this for source instances, not for target ones).

    Args:
        feat (Tensor): Features (B, C, h, w).
        label (Tensor): Integer labels (B, H, W).
        thing_classes (Sequence[int]): Thing (foreground) class ids.
        max_per_class (int, optional): z of Alg. 1. Default: 10.
        ignore_index (int): Ignored label. Default: 255.
        pred (Tensor, optional): Predicted labels or logits; see
            :func:`correct_label_map`.
        classifier (Callable, optional): See :func:`classifier_agrees`.
        connectivity (int): 8 (SIM code) or 4. Default: 8.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``feats`` (N, C) float32,
        differentiable w.r.t. ``feat``; ``class_ids`` (N,) and ``image_ids``
        (N,) long. Order: image, then thing class, then decreasing area.
    """
    if not isinstance(feat, Tensor) or feat.dim() != 4:
        raise ValueError('thing_instance_features expects features (B, C, '
                         f'h, w), got {tuple(getattr(feat, "shape", ()))}')
    b, c, h, w = feat.shape
    if label.shape[0] != b:
        raise ValueError(f'thing_instance_features: {b} feature maps but '
                         f'labels of shape {tuple(label.shape)}')
    lab = correct_label_map(label, (h, w), pred, ignore_index)
    feats: List[Tensor] = []
    class_ids: List[int] = []
    image_ids: List[int] = []
    for i in range(b):
        inst = extract_instances(lab[i], thing_classes, max_per_class,
                                 ignore_index, connectivity)
        if not inst:
            continue
        masks = torch.stack([m for _, m in inst])
        feats.append(masked_mean_features(feat[i], masks))  # none vanish
        class_ids += [cls for cls, _ in inst]
        image_ids += [i] * len(inst)
    if not feats:
        empty = feat.float()[:0, :, 0, 0]  # (0, C), keeps the graph
        return (empty,
                torch.zeros(0, dtype=torch.long, device=feat.device),
                torch.zeros(0, dtype=torch.long, device=feat.device))
    out = torch.cat(feats)
    cls_t = torch.tensor(class_ids, dtype=torch.long, device=feat.device)
    img_t = torch.tensor(image_ids, dtype=torch.long, device=feat.device)
    if classifier is not None:
        keep = classifier_agrees(out, cls_t, classifier)
        out, cls_t, img_t = out[keep], cls_t[keep], img_t[keep]
    return out, cls_t, img_t


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
        loss_weight (float): Multiplier (lambda_ci, 0.01 in SIM). Default:
            1.0.
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
