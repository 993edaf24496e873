"""PackSegInputs that also packs pseudo-label confidence and negatives."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                     'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                     'pseudo_label_easy')


@TRANSFORMS.register_module()
class PackSegInputsWithExtras(PackSegInputs):
    """mmseg's ``PackSegInputs``, plus the maps :class:`LoadPseudoLabel` adds.

    When present in ``results``:

    - ``gt_confidence`` (H, W) float -> ``data_sample.gt_confidence``:
      ``PixelData`` with ``data`` a float32 tensor (1, H, W);
    - ``gt_negative_mask`` (H, W, C) 0/1 -> ``data_sample.gt_negative_mask``:
      ``PixelData`` with ``data`` a bool tensor (C, H, W).

    Both must still match the image size, i.e. they were listed in
    ``results['seg_fields']`` through every geometric transform.

    Note: mmseg's ``SegDataPreProcessor`` pads only ``gt_sem_seg`` (and edge
    / depth maps) when batching; crop to a fixed size, or pad these fields in
    the consumer, when images can be smaller than the crop.

    ``pseudo_label_easy`` (the image's side of the DAS3 easy / hard split) is
    packed as meta information when present.

    Args:
        meta_keys (Sequence[str]): As in ``PackSegInputs``, plus
            ``pseudo_label_easy``.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=tuple(meta_keys))

    def transform(self, results: dict) -> dict:
        """Pack like ``PackSegInputs``, then add the extra ``PixelData``."""
        packed = super().transform(results)
        data_sample = packed['data_samples']
        img_hw = None
        if results.get('img') is not None:
            img_hw = tuple(results['img'].shape[:2])
        if results.get('gt_confidence') is not None:
            conf = np.asarray(results['gt_confidence'])
            self._check(conf, 2, img_hw, 'gt_confidence', '(H, W)')
            tensor = torch.from_numpy(
                np.ascontiguousarray(conf, dtype=np.float32)[None])
            data_sample.set_data(dict(gt_confidence=PixelData(data=tensor)))
        if results.get('gt_negative_mask') is not None:
            neg = np.asarray(results['gt_negative_mask'])
            self._check(neg, 3, img_hw, 'gt_negative_mask', '(H, W, C)')
            tensor = torch.from_numpy(
                np.ascontiguousarray(neg.transpose(2, 0, 1)).astype(bool))
            data_sample.set_data(
                dict(gt_negative_mask=PixelData(data=tensor)))
        return packed

    @staticmethod
    def _check(arr: np.ndarray, ndim: int, img_hw: Optional[Tuple[int, int]],
               key: str, layout: str) -> None:
        if arr.ndim != ndim:
            raise ValueError(
                f'PackSegInputsWithExtras: results[{key!r}] has shape '
                f'{arr.shape}; expected {layout}.')
        if img_hw is not None and tuple(arr.shape[:2]) != img_hw:
            raise ValueError(
                f'PackSegInputsWithExtras: results[{key!r}] is '
                f'{arr.shape[0]}x{arr.shape[1]} but the image is '
                f'{img_hw[0]}x{img_hw[1]}: resize / crop / flip transforms '
                f'must apply to it: add {key!r} to results[\'seg_fields\'] '
                "(LoadPseudoLabel does) and build the pipeline under "
                "default_scope='mmseg' (RandomResize otherwise uses mmcv's "
                'Resize, which resizes gt_seg_map only).')
