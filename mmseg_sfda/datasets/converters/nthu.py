"""NTHU Cross-City ``_eval.png`` labels (Cityscapes label IDs) -> train IDs.

Layout per city: ``<root>/<City>/Images/Test/<stem>.png|.jpg`` and
``<root>/<City>/Labels/Test/<stem>_eval.png``; writes
``<root>/<City>/Labels/Test/<stem>_labelTrainIds.png``. Other files beside
the labels (``_city.png``, ``_bgr.png``, ``_visual.png``) are ignored.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ...utils.class_maps import CITYSCAPES_ID_TO_TRAINID, build_lut
from .common import (ConvertSummary, LabelTask, list_raw_labels, output_path,
                     read_index_png, require_dir, run_conversion,
                     verify_images)
from .gta5 import CITYSCAPES_VALID_IDS

NTHU_CMD = 'python tools/dataset_converters/nthu.py {root}'
NTHU_CITIES = ('Rome', 'Rio', 'Tokyo', 'Taipei')
EVAL_SUFFIX = '_eval.png'
IMG_SUFFIXES = ('.png', '.jpg')
_NTHU_HINT = ('NTHU _eval.png labels hold Cityscapes label IDs in a single '
              'channel; _city.png / _bgr.png / _visual.png are renderings.')


def read_nthu_label(path: str) -> np.ndarray:
    """Return the Cityscapes label-ID map of an NTHU ``_eval.png``."""
    return read_index_png(path, hint=_NTHU_HINT)


def find_cities(root: str) -> List[str]:
    """Sub-folders of ``root`` that hold ``Labels/Test``."""
    return sorted(
        d for d in os.listdir(root)
        if osp.isdir(osp.join(root, d, 'Labels', 'Test')))


def find_test_image(img_dir: str, stem: str) -> Tuple[Optional[str], str]:
    """``Images/Test/<stem>.png`` or ``.jpg`` (test images mix both).

    Returns ``(path or None, error)``; two images for one stem is an error
    (which one the label belongs to cannot be told).
    """
    found = [
        osp.join(img_dir, stem + s) for s in IMG_SUFFIXES
        if osp.isfile(osp.join(img_dir, stem + s))
    ]
    if len(found) > 1:
        return None, (f'ambiguous NTHU test image: both {found[0]} and '
                      f'{found[1]} exist; keep the one the label belongs to')
    return (found[0] if found else None), ''


def city_tasks(city_dir: str) -> List[LabelTask]:
    """One task per ``Labels/Test/*_eval.png`` of one city."""
    label_dir = osp.join(city_dir, 'Labels', 'Test')
    img_dir = osp.join(city_dir, 'Images', 'Test')
    fix = ('Expected <root>/<City>/Labels/Test/<stem>_eval.png and '
           '<root>/<City>/Images/Test/<stem>.png|.jpg.')
    require_dir(label_dir, 'NTHU label folder', fix)
    require_dir(img_dir, 'NTHU test image folder', fix)
    tasks = []
    for src in list_raw_labels(label_dir, EVAL_SUFFIX, 'NTHU label folder'):
        stem = osp.basename(src)[:-len(EVAL_SUFFIX)]
        img, error = find_test_image(img_dir, stem)
        tasks.append(
            LabelTask(src, output_path(src, EVAL_SUFFIX), img
                      or osp.join(img_dir, stem + IMG_SUFFIXES[0]), error))
    return tasks


def _city_folder_fix(root: str) -> str:
    """The right command when ``root`` is one city's folder, else ''."""
    if not osp.isdir(osp.join(root, 'Labels', 'Test')):
        return ''
    parent, city = osp.split(osp.normpath(osp.abspath(root)))
    return (f'{root} is the folder of the city {city!r}, not the NTHU root: '
            f'run `{NTHU_CMD.format(root=parent)} --cities {city}`.')


def nthu_tasks(root: str,
               cities: Optional[Sequence[str]] = None) -> List[LabelTask]:
    """Tasks of the given cities (default: every city found under root)."""
    require_dir(root, 'NTHU root',
                f'Expected <root>/<City>/ for City in {NTHU_CITIES}.')
    city_fix = _city_folder_fix(root)
    if city_fix:
        raise FileNotFoundError(city_fix)
    if not cities:
        cities = find_cities(root)
        if not cities:
            raise FileNotFoundError(
                f'no city with Labels/Test under {root}; expected e.g. '
                f'{osp.join(root, NTHU_CITIES[0], "Labels", "Test")}')
    tasks: List[LabelTask] = []
    for city in cities:
        city_dir = osp.join(root, city)
        require_dir(city_dir, f'NTHU city {city!r}',
                    f'Cities present: {find_cities(root)}.')
        tasks += city_tasks(city_dir)
    return tasks


def nthu_train_images(root: str,
                      cities: Optional[Sequence[str]] = None) -> List[str]:
    """``<City>/Images/Train/*.jpg`` of the given cities (default: all)."""
    require_dir(root, 'NTHU root',
                f'Expected <root>/<City>/ for City in {NTHU_CITIES}.')
    city_fix = _city_folder_fix(root)
    if city_fix:
        raise FileNotFoundError(city_fix)
    paths = []
    for city in cities or find_cities(root):
        folder = osp.join(root, city, 'Images', 'Train')
        require_dir(folder, f'NTHU training image folder of {city!r}')
        paths += sorted(
            osp.join(folder, f) for f in os.listdir(folder)
            if f.endswith('.jpg') and not f.startswith('.'))
    return paths


def check_nthu_train_images(root: str,
                            cities: Optional[Sequence[str]] = None,
                            nproc: int = 1) -> List[Tuple[str, str]]:
    """Decode every unlabelled training image; return the bad ones."""
    return verify_images(nthu_train_images(root, cities), 'NTHU train', nproc)


def convert_nthu(root: str,
                 cities: Optional[Sequence[str]] = None,
                 nproc: int = 1,
                 on_mismatch: str = 'resize',
                 overwrite: bool = False) -> ConvertSummary:
    """Write ``Labels/Test/*_labelTrainIds.png`` for the given cities."""
    return run_conversion(
        nthu_tasks(root, cities),
        read_nthu_label,
        build_lut(CITYSCAPES_ID_TO_TRAINID),
        CITYSCAPES_VALID_IDS,
        name='NTHU',
        nproc=nproc,
        on_mismatch=on_mismatch,
        overwrite=overwrite)
