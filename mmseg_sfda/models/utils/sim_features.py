"""SIM's feature extraction and bank matching (Eq. 4-5, 7; Alg. 1).

Shared by the matching losses (``StuffMatchingLoss``, ``InstanceMatchingLoss``)
and ``SIMSegmentor`` (which fills the memory banks with the same features).
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .feature_memory_bank import FeatureMemoryBank
from .instances import (_check_classes, classifier_agrees, correct_label_map,
                        extract_instances, masked_mean_features)


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
