"""GTA5 labels (palette PNGs indexed by Cityscapes label ID) -> train IDs.

Layout: ``<root>/images/<id>.png`` and ``<root>/labels/<id>.png``; writes
``<root>/labels/<id>_labelTrainIds.png``.
"""
import os.path as osp
from typing import List

import numpy as np

from ...utils.class_maps import CITYSCAPES_ID_TO_TRAINID, build_lut
from .common import (ConvertSummary, LabelTask, list_raw_labels, output_path,
                     read_index_png, require_dir, run_conversion)

GTA5_CMD = 'python tools/dataset_converters/gta5.py {root}'
# Every Cityscapes label ID (0..33) plus -1 stored as 255: known, not unknown.
CITYSCAPES_VALID_IDS = frozenset(range(34)) | {255}
_GTA5_HINT = ('GTA5 labels are palette (P) PNGs whose index is the '
              'Cityscapes label ID; an RGB file is a colour rendering and '
              'cannot be mapped reliably: use the original labels.')


def read_gta5_label(path: str) -> np.ndarray:
    """Return the palette INDEX map (Cityscapes label IDs) of a GTA5 label."""
    return read_index_png(path, hint=_GTA5_HINT)


def gta5_tasks(root: str) -> List[LabelTask]:
    """One task per raw ``labels/*.png``, paired with ``images/<same>``."""
    fix = 'Expected GTA5 as <root>/images/*.png and <root>/labels/*.png.'
    require_dir(root, 'GTA5 root', fix)
    img_dir, label_dir = osp.join(root, 'images'), osp.join(root, 'labels')
    require_dir(label_dir, 'GTA5 label folder', fix)
    require_dir(img_dir, 'GTA5 image folder', fix)
    return [
        LabelTask(src, output_path(src), osp.join(img_dir, osp.basename(src)))
        for src in list_raw_labels(label_dir, what='GTA5 label folder')
    ]


def convert_gta5(root: str,
                 nproc: int = 1,
                 on_mismatch: str = 'resize',
                 overwrite: bool = False) -> ConvertSummary:
    """Write ``labels/*_labelTrainIds.png`` for a GTA5 tree at ``root``."""
    return run_conversion(
        gta5_tasks(root),
        read_gta5_label,
        build_lut(CITYSCAPES_ID_TO_TRAINID),
        CITYSCAPES_VALID_IDS,
        name='GTA5',
        nproc=nproc,
        on_mismatch=on_mismatch,
        overwrite=overwrite)
