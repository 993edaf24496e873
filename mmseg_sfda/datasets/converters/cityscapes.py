"""Cityscapes ``*_gtFine_labelIds.png`` (label IDs) -> train IDs.

Layout: ``<root>/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png`` and
``<root>/gtFine/<split>/<city>/<stem>_gtFine_labelIds.png``; writes
``<root>/gtFine/<split>/<city>/<stem>_gtFine_labelTrainIds.png``, the files
mmseg's ``CityscapesDataset`` reads.

cityscapesScripts (and mmseg's converter built on it) rasterise
``*_gtFine_polygons.json`` with train IDs. The ``*_gtFine_labelIds.png``
shipped in ``gtFine_trainvaltest.zip`` are the same polygons rasterised by the
same script with label IDs; the 34 -> 19 table maps each pixel's label ID to
its train ID, so the result is the same without cityscapesScripts.
``_color.png``, ``_instanceIds.png`` and ``_polygons.json`` are ignored.
"""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np

from ...utils.class_maps import CITYSCAPES_ID_TO_TRAINID, build_lut
from .common import (ConvertSummary, LabelTask, list_raw_labels, output_path,
                     read_index_png, require_dir, run_conversion)
from .gta5 import CITYSCAPES_VALID_IDS

CITYSCAPES_CMD = 'python tools/dataset_converters/cityscapes.py {root}'
CITYSCAPES_SPLITS = ('train', 'val')
LABEL_SUFFIX = '_gtFine_labelIds.png'
IMG_SUFFIX = '_leftImg8bit.png'
_HINT = ('Cityscapes *_gtFine_labelIds.png are single-channel label-ID '
         'PNGs; *_gtFine_color.png is a rendering.')
_LAYOUT = ('Expected <root>/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png'
           ' and <root>/gtFine/<split>/<city>/<stem>_gtFine_labelIds.png '
           '(gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip '
           'extracted into <root>).')


def read_cityscapes_label(path: str) -> np.ndarray:
    """Return the label-ID map of a ``*_gtFine_labelIds.png``."""
    return read_index_png(path, hint=_HINT)


def cityscapes_tasks(root: str,
                     splits: Sequence[str] = CITYSCAPES_SPLITS
                     ) -> List[LabelTask]:
    """One task per ``gtFine/<split>/<city>/*_gtFine_labelIds.png``."""
    require_dir(root, 'Cityscapes root', _LAYOUT)
    tasks: List[LabelTask] = []
    for split in splits:
        label_split = osp.join(root, 'gtFine', split)
        img_split = osp.join(root, 'leftImg8bit', split)
        require_dir(label_split, f'Cityscapes gtFine/{split} folder', _LAYOUT)
        require_dir(img_split, f'Cityscapes leftImg8bit/{split} folder',
                    _LAYOUT)
        cities = sorted(d for d in os.listdir(label_split)
                        if osp.isdir(osp.join(label_split, d)))
        if not cities:
            raise FileNotFoundError(
                f'Cityscapes label folder {label_split} holds no city '
                f'folder. {_LAYOUT}')
        for city in cities:
            label_dir = osp.join(label_split, city)
            for src in list_raw_labels(label_dir, LABEL_SUFFIX,
                                       'Cityscapes label folder'):
                stem = osp.basename(src)[:-len(LABEL_SUFFIX)]
                img = osp.join(img_split, city, stem + IMG_SUFFIX)
                tasks.append(
                    LabelTask(src, output_path(src, '_labelIds.png'), img))
    return tasks


def convert_cityscapes(root: str,
                       splits: Sequence[str] = CITYSCAPES_SPLITS,
                       nproc: int = 1,
                       on_mismatch: str = 'resize',
                       overwrite: bool = False) -> ConvertSummary:
    """Write ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png``.

    A label whose image differs in size (e.g. downscaled images) is resized
    (nearest) or skipped, and reported.
    """
    return run_conversion(
        cityscapes_tasks(root, splits),
        read_cityscapes_label,
        build_lut(CITYSCAPES_ID_TO_TRAINID),
        CITYSCAPES_VALID_IDS,
        name='Cityscapes',
        nproc=nproc,
        on_mismatch=on_mismatch,
        overwrite=overwrite)
