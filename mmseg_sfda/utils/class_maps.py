"""Label-ID tables shared by datasets, converters, metrics and the toy benchmark.

Facts from cityscapesScripts and the SYNTHIA / GTA5 readers (see docs/dataset_preparation.md).
"""
from typing import Dict, Tuple

import numpy as np

IGNORE_INDEX = 255

CITYSCAPES_CLASSES: Tuple[str, ...] = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
    'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
    'truck', 'bus', 'train', 'motorcycle', 'bicycle')

CITYSCAPES_PALETTE = [[128, 64, 128], [244, 35, 232], [70, 70, 70],
                      [102, 102, 156], [190, 153, 153], [153, 153, 153],
                      [250, 170, 30], [220, 220, 0], [107, 142, 35],
                      [152, 251, 152], [70, 130, 180], [220, 20, 60],
                      [255, 0, 0], [0, 0, 142], [0, 0, 70], [0, 60, 100],
                      [0, 80, 100], [0, 0, 230], [119, 11, 32]]

# Cityscapes label ID -> train ID (GTA5 labels and NTHU ``_eval.png`` use label IDs).
CITYSCAPES_ID_TO_TRAINID: Dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}

# SYNTHIA-RAND-CITYSCAPES class ID (R channel of GT/LABELS) -> train ID.
SYNTHIA_ID_TO_TRAINID: Dict[int, int] = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10,
    10: 11, 17: 12, 8: 13, 18: 14, 19: 15, 20: 16, 12: 17, 11: 18}

# Train IDs scored by the SYNTHIA protocol (16) and by mIoU* / NTHU (13).
SUBSET_16 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)
SUBSET_13 = (0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)

# Optional lenient NTHU scoring (``SubsetIoUMetric(merge='nthu')``), not the
# papers' protocol (13 classes, no merge): wall / fence / pole -> building,
# terrain -> vegetation, truck -> car before scoring.
NTHU_MERGE: Dict[int, int] = {3: 2, 4: 2, 5: 2, 9: 8, 14: 13}


def build_lut(mapping: Dict[int, int], size: int = 256,
              fill: int = IGNORE_INDEX) -> np.ndarray:
    """Return a lookup table of ``size`` entries: ``lut[src] = mapping.get(src, fill)``."""
    lut = np.full(size, fill, dtype=np.uint8)
    for src, dst in mapping.items():
        lut[src] = dst
    return lut
