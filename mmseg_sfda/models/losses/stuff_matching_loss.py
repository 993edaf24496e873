"""Stuff matching loss of SIM (Eq. 4-6)."""
from typing import Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmseg.registry import MODELS
from mmseg_sfda.models.heads.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.losses.utils import BaseLoss, check_choice
from mmseg_sfda.models.utils.instances import (_check_classes,
                                               classifier_agrees,
                                               correct_label_map)

_REDUCTIONS = ('sim', 'mean')


def stuff_class_means(
    feat: Tensor,
    label: Tensor,
    stuff_classes: Sequence[int],
    ignore_index: int = 255,
    pred: Optional[Tensor] = None,
    classifier: Optional[Callable[[Tensor], Tensor]] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-image class-mean features of the stuff classes (``A^b``, Eq. 5).

    ``label`` (ground truth on source, predicted / pseudo labels on target)
    is resized (nearest) to the feature size, as in SIM's code. With
    ``pred`` (source step) only correctly classified pixels count (Eq. 4).
    With ``classifier`` a mean is kept only if the classifier re-predicts its
    class (SIM's code does this for source stuff and target stuff). Classes
    absent from an image give no entry (Eq. 5: stored only if non-zero).

    Args:
        feat (Tensor): Features (B, C, h, w).
        label (Tensor): Integer labels (B, H, W).
        stuff_classes (Sequence[int]): Stuff (background) class ids.
        ignore_index (int): Ignored label. Default: 255.
        pred (Tensor, optional): Predicted labels (B, H', W') or logits
            (B, K, H', W'); see :func:`correct_label_map`.
        classifier (Callable, optional): See :func:`classifier_agrees`.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``means`` (N, C) float32,
        differentiable w.r.t. ``feat``; ``class_ids`` (N,) and ``image_ids``
        (N,) long.
    """
    if not isinstance(feat, Tensor) or feat.dim() != 4:
        raise ValueError('stuff_class_means expects features (B, C, h, w), '
                         f'got {tuple(getattr(feat, "shape", ()))}')
    classes = _check_classes(stuff_classes, ignore_index, 'stuff_class_means',
                             'stuff_classes')
    b, c, h, w = feat.shape
    if label.shape[0] != b:
        raise ValueError(f'stuff_class_means: {b} feature maps but labels '
                         f'of shape {tuple(label.shape)}')
    lab = correct_label_map(label, (h, w), pred, ignore_index)
    lab = lab.to(feat.device).flatten(1)  # (B, hw)
    cls = torch.tensor(classes, device=feat.device, dtype=torch.long)
    onehot = (lab[:, None, :] == cls[None, :, None]).float()  # (B, S, hw)
    counts = onehot.sum(dim=2)  # (B, S)
    sums = onehot @ feat.float().reshape(b, c, h * w).transpose(1, 2)
    img, idx = (counts > 0).nonzero(as_tuple=True)
    means = sums[img, idx] / counts[img, idx][:, None]
    class_ids = cls[idx]
    if classifier is not None:
        keep = classifier_agrees(means, class_ids, classifier)
        means, class_ids, img = means[keep], class_ids[keep], img[keep]
    return means, class_ids, img


def matched_l1(feats: Tensor, class_ids: Tensor, bank: FeatureMemoryBank,
               normalize_by_dim: bool,
               require_full: bool) -> Tuple[Tensor, Tensor]:
    """L1 distance of each feature to its nearest same-class bank entry.

    Returns ``(dist, matched)``: ``dist`` (N,) (0 where unmatched, divided by
    the feature dimension if ``normalize_by_dim``) and the bool (N,) mask of
    features whose class bank is usable (non-empty, or full if
    ``require_full``; classes without a bank row are unmatched).
    """
    if not isinstance(bank, FeatureMemoryBank):
        raise ValueError('matching losses need a FeatureMemoryBank, got '
                         f'{type(bank)}')
    if feats.dim() != 2 or feats.shape[1] != bank.dim:
        raise ValueError(f'matching losses expect features (N, {bank.dim}) '
                         f'(the bank dim), got {tuple(feats.shape)}')
    class_ids = torch.as_tensor(class_ids, device=feats.device)
    if class_ids.shape != (feats.shape[0], ):
        raise ValueError(f'matching losses: class_ids must be ({len(feats)},)'
                         f', got {tuple(class_ids.shape)}')
    feats = feats.float()
    dist = feats.new_zeros(feats.shape[0])
    matched = torch.zeros_like(dist, dtype=torch.bool)
    for cls in class_ids.unique().tolist():
        if cls not in bank.class_ids:
            continue
        usable = bank.is_full(cls) if require_full else not bank.is_empty(
            cls)
        if not usable:
            continue
        sel = class_ids == cls
        q = feats[sel]
        d = (q - bank.nearest(cls, q).to(q)).abs().sum(dim=1)
        dist = dist.masked_scatter(sel, d)
        matched = matched | sel
    if normalize_by_dim:
        dist = dist / bank.dim
    return dist, matched


def _num_images(image_ids: Optional[Tensor],
                num_images: Optional[int]) -> int:
    """Images in the batch (explicit, else max image id + 1, else 1)."""
    if num_images is not None:
        if not (isinstance(num_images, int) and num_images > 0):
            raise ValueError('matching losses: num_images must be a positive '
                             f'int, got {num_images!r}')
        return num_images
    if image_ids is None or image_ids.numel() == 0:
        return 1
    return int(image_ids.max()) + 1


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
        loss_weight (float): Multiplier (lambda_ci, 0.01 in SIM). Default:
            1.0.
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
