"""CBST rare-class crop mining (Sec. 5, "hard sample mining")."""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

CLASS_STATS_FILE = 'class_stats.json'


@TRANSFORMS.register_module()
class RareClassCrop(BaseTransform):
    """Random crop that favours rare pseudo-label classes (CBST, Sec. 5).

    CBST: "during random cropping on each target image for network input,
    priorities are given to classes whose predicted portions are less than
    0.1%, by selectively cropping at locations containing pixels predicted to
    those classes". A class ``c`` is rare when ``pixel_fraction[c] <
    rare_threshold``, read from ``{results['pseudo_label_dir']}/
    class_stats.json`` (written by ``PseudoLabelHook``; cached per file and
    re-read when the file changes).

    If ``gt_seg_map`` contains rare classes then, with probability ``prob``,
    one of those present is drawn uniformly, then one of its pixels uniformly,
    and the window is centred on that pixel and shifted to lie inside the
    image (so it always contains the pixel), as in the released CRST code
    (``GTA5StMineDataSet``). Otherwise the crop is uniform, with the very
    draws of mmseg's ``RandomCrop`` (same window for the same seed). A crop
    side longer than the image side becomes the image side. ``img`` and
    every key of ``seg_fields`` are cropped; ``img_shape`` is updated.

    Note: ``pixel_fraction`` counts the model's argmax predictions over the
    target set (``class_stats.json``), while the pixels mined are those of
    the current pseudo label ``gt_seg_map``; a class below the threshold
    that was filtered out of this image's pseudo label is not mined.

    Randomness comes from NumPy's global generator (``np.random``), like
    mmseg's transforms, so mmengine's per-worker seeding makes runs
    reproducible.

    Use it in place of ``RandomCrop``, after ``LoadPseudoLabel`` (which sets
    ``results['pseudo_label_dir']``) and any ``RandomResize``.

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        rare_threshold (float): Classes predicted on fewer than this fraction
            of the target pixels are rare. Default: 1e-3 (0.1%, CBST).
        prob (float): Chance of mining when a rare class is present. The
            paper gives none; the CRST code's ``--mine-chance`` default is
            0.8. Default: 0.8.
        ignore_index (int): Label never treated as a class. Default: 255.
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 rare_threshold: float = 1e-3,
                 prob: float = 0.8,
                 ignore_index: int = 255) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(crop_size)
        if len(crop_size) != 2 or not all(
                isinstance(s, (int, np.integer)) and s > 0 for s in crop_size):
            raise ValueError('RareClassCrop: crop_size must be a positive int '
                             f'or (h, w) of positive ints, got {crop_size!r}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RareClassCrop: prob={prob} is not in [0, 1]')
        if rare_threshold < 0:
            raise ValueError(
                f'RareClassCrop: rare_threshold={rare_threshold} is negative')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.rare_threshold = rare_threshold
        self.prob = prob
        self.ignore_index = ignore_index
        # path -> ((mtime_ns, size), pixel_fraction)
        self._stats_cache: Dict[str, Tuple[Tuple[int, int], np.ndarray]] = {}

    # ------------------------------------------------------------ stats
    def pixel_fraction(self, pseudo_label_dir: str) -> np.ndarray:
        """``pixel_fraction`` of ``{pseudo_label_dir}/class_stats.json``."""
        path = osp.join(pseudo_label_dir, CLASS_STATS_FILE)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'RareClassCrop: {path} not found. It is written by '
                'PseudoLabelHook with each round of pseudo labels; check '
                'that pseudo_label_dir points at a complete round '
                'directory.') from None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._stats_cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        fraction = _read_pixel_fraction(path)
        self._stats_cache[path] = (stamp, fraction)
        return fraction

    def rare_classes(self, pseudo_label_dir: str) -> np.ndarray:
        """Classes with ``pixel_fraction < rare_threshold``, ascending."""
        fraction = self.pixel_fraction(pseudo_label_dir)
        return np.flatnonzero(fraction < self.rare_threshold)

    # ------------------------------------------------------------ crop
    def crop_bbox(self, results: dict) -> Tuple[int, int, int, int]:
        """Draw ``(y1, y2, x1, x2)`` for ``results``."""
        if results.get('pseudo_label_dir') is None:
            raise KeyError(
                "RareClassCrop: results has no 'pseudo_label_dir'; put "
                'LoadPseudoLabel (which sets it) before RareClassCrop, or use '
                'RandomCrop on data without pseudo labels.')
        if results.get('gt_seg_map') is None:
            raise KeyError("RareClassCrop: results has no 'gt_seg_map'; put "
                           'LoadPseudoLabel before RareClassCrop.')
        img_h, img_w = results['img'].shape[:2]
        crop_h = min(self.crop_size[0], img_h)
        crop_w = min(self.crop_size[1], img_w)
        rare = self.rare_classes(results['pseudo_label_dir'])
        present = self._present(results['gt_seg_map'], rare)
        if present and np.random.rand() < self.prob:
            cls = present[np.random.randint(len(present))]
            ys, xs = np.nonzero(results['gt_seg_map'] == cls)
            k = np.random.randint(len(ys))
            y1 = _clip_start(int(ys[k]) - crop_h // 2, crop_h, img_h)
            x1 = _clip_start(int(xs[k]) - crop_w // 2, crop_w, img_w)
            return y1, y1 + crop_h, x1, x1 + crop_w
        # the same draws as mmseg's RandomCrop (cat_max_ratio=1)
        y1 = np.random.randint(0, img_h - crop_h + 1)
        x1 = np.random.randint(0, img_w - crop_w + 1)
        return int(y1), int(y1) + crop_h, int(x1), int(x1) + crop_w

    def _present(self, label: np.ndarray, rare: np.ndarray) -> List[int]:
        """Rare classes with at least one pixel in ``label``."""
        if len(rare) == 0:
            return []
        counts = np.bincount(label.ravel().astype(np.int64, copy=False),
                             minlength=int(rare.max()) + 1)
        return [int(c) for c in rare
                if c != self.ignore_index and c < len(counts)
                and counts[c] > 0]

    def transform(self, results: dict) -> dict:
        """Crop ``img`` and every seg field to one drawn window."""
        y1, y2, x1, x2 = self.crop_bbox(results)
        results['img'] = results['img'][y1:y2, x1:x2, ...]
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = results[key][y1:y2, x1:x2, ...]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'rare_threshold={self.rare_threshold}, prob={self.prob}, '
                f'ignore_index={self.ignore_index})')


def _clip_start(start: int, length: int, size: int) -> int:
    """Shift ``start`` so ``[start, start + length)`` fits in ``size``."""
    return max(0, min(start, size - length))


def _read_pixel_fraction(path: str) -> np.ndarray:
    """Validated ``pixel_fraction`` array of a ``class_stats.json``."""
    try:
        with open(path) as f:
            stats = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(
            f'RareClassCrop: {path} is not valid JSON ({err}); regenerate '
            'the round with PseudoLabelHook.') from None
    if not isinstance(stats, dict) or 'pixel_fraction' not in stats:
        keys = sorted(stats) if isinstance(stats, dict) else type(stats)
        raise KeyError(f"RareClassCrop: {path} has no 'pixel_fraction' (has "
                       f'{keys}); expected the class_stats.json written by '
                       'PseudoLabelHook.')
    fraction = np.asarray(stats['pixel_fraction'], dtype=np.float64)
    if fraction.ndim != 1 or fraction.size == 0:
        raise ValueError(f'RareClassCrop: {path}: pixel_fraction must be a '
                         f'non-empty list of C floats, got shape '
                         f'{fraction.shape}')
    num_classes = stats.get('num_classes')
    if num_classes is not None and int(num_classes) != fraction.size:
        raise ValueError(
            f'RareClassCrop: {path}: pixel_fraction has {fraction.size} '
            f'entries but num_classes is {num_classes}; the file is '
            'inconsistent, regenerate the round.')
    return fraction
