"""SYNTHIA-RAND-CITYSCAPES labels (16-bit, class ID in R) -> train IDs.

Layout: ``<root>/RGB/<id>.png`` and ``<root>/GT/LABELS/<id>.png``; writes
``<root>/GT/LABELS/<id>_labelTrainIds.png``. ``GT/LABELS`` files are read
with ``cv2.IMREAD_UNCHANGED`` (BGR order, so R is ``[..., 2]``); Pillow keeps
only the high byte of 16-bit values and must not be used.
"""
import os.path as osp
from typing import List

import cv2
import numpy as np

from ...utils.class_maps import SYNTHIA_ID_TO_TRAINID, build_lut
from .common import (ConvertSummary, LabelFormatError, LabelTask,
                     list_raw_labels, output_path, require_dir,
                     run_conversion)

SYNTHIA_CMD = 'python tools/dataset_converters/synthia.py {root}'
# IDs 0..22 are SYNTHIA classes (0, 13, 14, 22 are void -> 255, not unknown).
SYNTHIA_VALID_IDS = frozenset(range(23))


def read_synthia_label(path: str) -> np.ndarray:
    """Return the class-ID map (R channel) of a 16-bit SYNTHIA label."""
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise OSError(f'{path}: cannot read the file (missing or corrupt '
                      'PNG)')
    if raw.dtype != np.uint16 or raw.ndim != 3 or raw.shape[2] < 3:
        channels = raw.shape[2] if raw.ndim == 3 else 1
        raise LabelFormatError(
            f'{path}: SYNTHIA GT/LABELS must be 16-bit 3-channel PNGs (class '
            f'ID in R), got {raw.dtype} with {channels} channel(s). Is this '
            'GT/COLOR, or a file already converted?')
    return np.ascontiguousarray(raw[..., 2])


def synthia_tasks(root: str) -> List[LabelTask]:
    """One task per raw ``GT/LABELS/*.png``, paired with ``RGB/<same>``."""
    fix = 'Expected SYNTHIA as <root>/RGB/*.png and <root>/GT/LABELS/*.png.'
    require_dir(root, 'SYNTHIA root', fix)
    img_dir = osp.join(root, 'RGB')
    label_dir = osp.join(root, 'GT', 'LABELS')
    require_dir(label_dir, 'SYNTHIA label folder', fix)
    require_dir(img_dir, 'SYNTHIA image folder', fix)
    return [
        LabelTask(src, output_path(src), osp.join(img_dir, osp.basename(src)))
        for src in list_raw_labels(label_dir, what='SYNTHIA label folder')
    ]


def convert_synthia(root: str,
                    nproc: int = 1,
                    on_mismatch: str = 'resize',
                    overwrite: bool = False) -> ConvertSummary:
    """Write ``GT/LABELS/*_labelTrainIds.png`` for a SYNTHIA tree."""
    return run_conversion(
        synthia_tasks(root),
        read_synthia_label,
        build_lut(SYNTHIA_ID_TO_TRAINID),
        SYNTHIA_VALID_IDS,
        name='SYNTHIA',
        nproc=nproc,
        on_mismatch=on_mismatch,
        overwrite=overwrite)
