"""SIM sample helpers: thing instances as connected regions of a label map
(Eq. 7, Alg. 1), masked feature means (Eq. 5, 7), the correctly classified
label map (Eq. 4) and the classifier re-prediction check of SIM's code."""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def extract_instances(label: Tensor,
                      thing_classes: Sequence[int],
                      max_per_class: Optional[int] = 10,
                      ignore_index: int = 255,
                      connectivity: int = 8) -> List[Tuple[int, Tensor]]:
    """Split each thing class of a label map into connected regions.

    ``T(L, k)`` of Eq. 7: the instances of class k are the connected
    components of ``L == k`` (SIM's code: ``skimage.measure.label`` with
    ``connectivity=2``, i.e. 8-connectivity; here
    ``cv2.connectedComponentsWithStats``). Per class only the
    ``max_per_class`` largest regions by pixel area are kept (Alg. 1,
    ``z = 10``). Order: area descending; equal areas go by the raster position
    (row, then column) of the region's first pixel, the later one first. This
    is SIM's ``np.argsort(areas)[::-1]`` over skimage's raster-order labels
    wherever that is defined (numpy's non-SIMD argsort sorts up to 17 values
    by a stable insertion sort; larger ties fall where its quicksort puts
    them). OpenCV's own label order (2x2-block scan) is not used. Pixels of
    ``ignore_index`` and of classes not in ``thing_classes`` (stuff) never form
    instances.

    Args:
        label (Tensor): Integer label map (H, W).
        thing_classes (Sequence[int]): Thing (foreground) class ids.
        max_per_class (int, optional): Largest regions kept per class; None
            keeps all. Default: 10.
        ignore_index (int): Ignored label. Default: 255.
        connectivity (int): 8 (SIM code) or 4. Default: 8.

    Returns:
        list[tuple[int, Tensor]]: ``(class_id, mask)`` pairs, mask a bool
        (H, W) tensor on ``label``'s device; classes in ``thing_classes``
        order, within a class in the order above.
    """
    if not isinstance(label, Tensor) or label.dim() != 2 or \
            label.dtype.is_floating_point or label.dtype == torch.bool:
        raise ValueError('extract_instances expects an integer label map of '
                         'shape (H, W), got '
                         f'{getattr(label, "dtype", type(label))} '
                         f'{tuple(getattr(label, "shape", ()))}')
    if connectivity not in (4, 8):
        raise ValueError('extract_instances: connectivity must be 4 or 8, '
                         f'got {connectivity!r}')
    if max_per_class is not None and not (isinstance(max_per_class, int)
                                          and max_per_class > 0):
        raise ValueError('extract_instances: max_per_class must be a '
                         f'positive int or None, got {max_per_class!r}')
    thing_classes = _check_classes(thing_classes, ignore_index,
                                   'extract_instances', 'thing_classes')
    label_np = label.detach().cpu().numpy()
    instances: List[Tuple[int, Tensor]] = []
    for cls in thing_classes:
        binary = (label_np == cls).astype(np.uint8)
        if not binary.any():
            continue
        num, comp, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=connectivity)
        areas = stats[1:num, cv2.CC_STAT_AREA]  # component 0 = background
        # flat index of each region's first pixel (regions 1..num-1 in order)
        flat = np.flatnonzero(binary)
        _, pos = np.unique(comp.ravel()[flat], return_index=True)
        order = np.lexsort((-flat[pos], -areas))  # area, then later first
        if max_per_class is not None:
            order = order[:max_per_class]
        comp_t = torch.from_numpy(comp).to(label.device)
        for idx in order:
            instances.append((cls, comp_t == int(idx) + 1))
    return instances


def masked_mean_features(
    feat: Tensor,
    masks: Union[Tensor, Sequence[Tensor]],
    return_keep: bool = False
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Average a feature map inside each mask (``A``/``I`` of Eq. 5, 7).

    ``sum_hw r f / sum_hw r``. Masks are resized to the feature size with
    nearest interpolation; a mask left with no pixel after resizing is
    skipped (Eq. 5 stores a sample only if it is non-zero).

    Args:
        feat (Tensor): Feature map (C, h, w).
        masks (Tensor | Sequence[Tensor]): (N, H, W) tensor or N (H, W)
            masks (bool or 0/1).
        return_keep (bool): Also return which masks were kept.

    Returns:
        Tensor | tuple[Tensor, Tensor]: Mean features (N', C), float32 and
        differentiable w.r.t. ``feat``, and, with ``return_keep``, a bool
        (N,) tensor telling which masks survived.
    """
    if not isinstance(feat, Tensor) or feat.dim() != 3:
        raise ValueError('masked_mean_features expects a feature map of '
                         'shape (C, h, w), got '
                         f'{tuple(getattr(feat, "shape", ()))}')
    c, h, w = feat.shape
    if not isinstance(masks, Tensor):
        masks = (torch.stack(list(masks)) if len(masks) else
                 torch.zeros(0, h, w, dtype=torch.bool, device=feat.device))
    if masks.dim() != 3:
        raise ValueError('masked_mean_features expects masks (N, H, W), got '
                         f'shape {tuple(masks.shape)}')
    # float32 sums: half-precision areas/sums lose precision on large masks
    masks = masks.to(device=feat.device, dtype=torch.float32)
    if masks.shape[0] and masks.shape[1:] != (h, w):
        masks = F.interpolate(masks[:, None], size=(h, w),
                              mode='nearest')[:, 0]
    masks = masks.flatten(1)  # (N, hw)
    area = masks.sum(dim=1)
    keep = area > 0
    masks, area = masks[keep], area[keep]
    means = masks @ feat.float().reshape(c, h * w).t() / area[:, None]
    return (means, keep) if return_keep else means


def correct_label_map(label: Tensor,
                      size: Tuple[int, int],
                      pred: Optional[Tensor] = None,
                      ignore_index: int = 255) -> Tensor:
    """Label map at feature size, optionally kept only where predicted (Eq. 4).

    ``label`` is resized to ``size`` with nearest interpolation (SIM's code
    resizes the ground truth to the feature/prediction size). With ``pred``,
    pixels where the prediction disagrees become ``ignore_index``:
    ``L_C = L_G cap L_P``.

    Args:
        label (Tensor): Integer labels (B, H, W).
        size (tuple[int, int]): Feature size (h, w).
        pred (Tensor, optional): Predicted labels (B, H', W') or logits
            (B, K, H', W') (argmax over K); resized (nearest) to ``size``.
        ignore_index (int): Ignored label. Default: 255.

    Returns:
        Tensor: Long labels (B, h, w).
    """
    if not isinstance(label, Tensor) or label.dim() != 3 or \
            label.dtype.is_floating_point:
        raise ValueError('correct_label_map expects integer labels (B, H, '
                         f'W), got {tuple(getattr(label, "shape", ()))}')
    label = _resize_nearest(label, size)
    if pred is None:
        return label
    if pred.dim() == 4:
        pred = pred.argmax(dim=1)
    if pred.dim() != 3 or pred.shape[0] != label.shape[0]:
        raise ValueError('correct_label_map: pred must be labels (B, H, W) '
                         f'or logits (B, K, H, W) with B={label.shape[0]}, '
                         f'got {tuple(pred.shape)}')
    pred = _resize_nearest(pred.to(label.device), size)
    return label.masked_fill(label != pred, ignore_index)


def _resize_nearest(label: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest resize of (B, H, W) integer maps to ``size``, as long."""
    if tuple(label.shape[-2:]) == tuple(size):
        return label.long()
    return F.interpolate(
        label[:, None].float(), size=tuple(size), mode='nearest')[:,
                                                                  0].long()


@torch.no_grad()
def classifier_agrees(feats: Tensor, class_ids: Tensor,
                      classifier: Callable[[Tensor], Tensor]) -> Tensor:
    """Does the classifier re-predict each pooled feature's class?

    SIM's code stores (and, for target stuff, matches) a pooled feature only
    if the segmentation classifier applied to it predicts its class.

    Args:
        feats (Tensor): Pooled features (N, C).
        class_ids (Tensor): (N,) class of each feature.
        classifier (Callable): Maps (N, C, 1, 1) features to logits
            (N, K, ...), e.g. a decode head's ``cls_seg``; spatial outputs are
            averaged. Use a deterministic one (no active dropout).

    Returns:
        Tensor: Bool (N,) mask.
    """
    if feats.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool, device=feats.device)
    logits = classifier(feats.detach()[:, :, None, None])
    if logits.dim() > 2:
        logits = logits.flatten(2).mean(dim=2)
    return logits.argmax(dim=1) == class_ids.to(logits.device)


def _check_classes(classes: Sequence[int], ignore_index: int, owner: str,
                   name: str) -> List[int]:
    """Return ``classes`` as a list of distinct ints (not ignore_index)."""
    classes = list(classes)
    if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
               and c >= 0 for c in classes):
        raise ValueError(f'{owner}: {name} must be non-negative ints, got '
                         f'{classes!r}')
    classes = [int(c) for c in classes]
    if len(set(classes)) != len(classes):
        raise ValueError(f'{owner}: {name} has duplicates: {classes!r}')
    if ignore_index in classes:
        raise ValueError(f'{owner}: {name} contains ignore_index '
                         f'{ignore_index}')
    return classes
