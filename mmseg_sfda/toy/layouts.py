"""Write toy scenes in the exact on-disk layouts of the real datasets.

See ``DATASETS.md``: GTA5 (palette PNG of Cityscapes label IDs), SYNTHIA
RAND-CITYSCAPES (16-bit 3-channel PNG, class in R, instance in G), Cityscapes
(``leftImg8bit`` / ``gtFine``) and NTHU Cross-City (``_eval.png`` label IDs
plus colour distractors). Every file is written atomically (temporary file in
the same folder, then ``os.replace``), so a file that exists is complete.
"""
import io
import os
import tempfile
from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from mmseg_sfda.utils.class_maps import (CITYSCAPES_ID_TO_TRAINID,
                                            CITYSCAPES_PALETTE,
                                            SYNTHIA_ID_TO_TRAINID, build_lut)
from mmseg_sfda.toy.scenes import (SOURCE_STYLE, TARGET_STYLE,
                                         DomainStyle, colorize,
                                         style_for_shift)

LAYOUTS = ('gta5', 'synthia', 'cityscapes', 'nthu')
NTHU_CITIES = ('Rome', 'Rio', 'Tokyo', 'Taipei')
CITYSCAPES_CITIES: Dict[str, Tuple[str, ...]] = {
    'train': ('aachen', 'bremen'), 'val': ('frankfurt', 'lindau')}
GTA5_MISMATCH_EVERY = 50  # 1 in 50 GTA5 labels is a few pixels smaller
GTA5_MISMATCH_SHRINK = (2, 4)  # (rows, cols) missing from a mismatched label
NTHU_JPG_TEST_EVERY = 10  # 1 in 10 NTHU test images is a .jpg

# train ID -> label ID (inverse tables); ignore / absent classes -> ``fill``.
_TRAIN_TO_LABELID = {t: i for i, t in CITYSCAPES_ID_TO_TRAINID.items()}
_TRAIN_TO_SYNTHIA = {t: i for i, t in SYNTHIA_ID_TO_TRAINID.items()
                     if t not in (9, 14, 16)}  # SYNTHIA has no terrain/truck/train
# Colours of the Cityscapes label IDs that have no train ID (cityscapesScripts).
_EXTRA_LABELID_COLORS = {5: (111, 74, 0), 6: (81, 0, 81), 9: (250, 170, 160),
                         10: (230, 150, 140), 14: (180, 165, 180),
                         15: (150, 100, 100), 16: (150, 120, 90),
                         18: (153, 153, 153), 29: (0, 0, 90), 30: (0, 0, 110)}
EGO_VEHICLE_ID = 1  # Cityscapes label ID of the ego-vehicle hood


def train_to_label_id(label: np.ndarray, ignore_id: int = 0) -> np.ndarray:
    """Train IDs (255 ignore) -> Cityscapes label IDs (ignore -> ``ignore_id``)."""
    return build_lut(_TRAIN_TO_LABELID, fill=ignore_id)[label]


def train_to_synthia_id(label: np.ndarray) -> np.ndarray:
    """Train IDs -> SYNTHIA class IDs (ignore and absent classes -> 0 void)."""
    return build_lut(_TRAIN_TO_SYNTHIA, fill=0)[label]


def labelid_palette() -> List[int]:
    """Flat 768-entry palette: Cityscapes label ID -> colour (like GTA5 files)."""
    pal = np.zeros((256, 3), np.uint8)
    for lid, tid in CITYSCAPES_ID_TO_TRAINID.items():
        pal[lid] = CITYSCAPES_PALETTE[tid]
    for lid, col in _EXTRA_LABELID_COLORS.items():
        pal[lid] = col
    return pal.flatten().tolist()


def synthia_palette() -> np.ndarray:
    """(256, 3) SYNTHIA ID -> colour, for the ``GT/COLOR`` rendering only."""
    pal = np.zeros((256, 3), np.uint8)
    for sid, tid in SYNTHIA_ID_TO_TRAINID.items():
        pal[sid] = CITYSCAPES_PALETTE[tid]
    pal[13], pal[14], pal[22] = (250, 170, 160), (128, 64, 64), (102, 102, 156)
    return pal


# ---------------------------------------------------------------- items


@dataclass
class ToyItem:
    """One rendered sample and where it goes (index within its split)."""
    index: int
    rgb: np.ndarray  # uint8 (H, W, 3) RGB
    label: np.ndarray  # uint8 (H, W) train IDs, 255 ignore
    instance: Optional[np.ndarray] = None  # uint16 (H, W), 0 = stuff
    split: str = 'train'  # cityscapes: train / val; nthu: train / test
    city: str = ''  # NTHU city; Cityscapes cities are derived from index


def cityscapes_name(split: str, index: int) -> Tuple[str, str]:
    """(city, ``<city>_<seq:06d>_<frame:06d>``) of a Cityscapes item."""
    cities = CITYSCAPES_CITIES[split]
    city = cities[index % len(cities)]
    return city, f'{city}_{index // len(cities):06d}_000019'


def nthu_stem(split: str, index: int) -> str:
    """Stems like ``pano_00002_2_180`` (train and test never collide)."""
    pano = index // 4 + (1 if split == 'train' else 9001)
    return f'pano_{pano:05d}_{(index // 2) % 2 + 1}_{(0, 180)[index % 2]}'


def is_gta5_mismatch(index: int, every: int = GTA5_MISMATCH_EVERY) -> bool:
    """Whether GTA5 item ``index`` (0-based) gets a smaller label."""
    return every > 0 and (index + 1) % every == 0


def item_files(layout: str, root: str, split: str, index: int,
               city: str = '') -> Dict[str, str]:
    """Role -> path of every file an item writes in ``layout``."""
    j = os.path.join
    if layout == 'gta5':
        name = f'{index + 1:05d}.png'
        return {'image': j(root, 'images', name), 'label': j(root, 'labels', name)}
    if layout == 'synthia':
        name = f'{index:07d}.png'
        return {'image': j(root, 'RGB', name), 'label': j(root, 'GT', 'LABELS', name),
                'color': j(root, 'GT', 'COLOR', name)}
    if layout == 'cityscapes':
        c, stem = cityscapes_name(split, index)
        gt = j(root, 'gtFine', split, c, stem + '_gtFine')
        return {'image': j(root, 'leftImg8bit', split, c, stem + '_leftImg8bit.png'),
                'label': gt + '_labelTrainIds.png', 'label_ids': gt + '_labelIds.png',
                'instance': gt + '_instanceIds.png', 'color': gt + '_color.png'}
    if layout == 'nthu':
        stem = nthu_stem(split, index)
        if split == 'train':
            return {'image': j(root, city, 'Images', 'Train', stem + '.jpg')}
        ext = '.jpg' if index % NTHU_JPG_TEST_EVERY == NTHU_JPG_TEST_EVERY - 1 else '.png'
        lab = j(root, city, 'Labels', 'Test', stem)
        return {'image': j(root, city, 'Images', 'Test', stem + ext),
                'label': lab + '_eval.png', 'color': lab + '_city.png',
                'visual': lab + '_visual.png'}
    raise ValueError(f'unknown layout {layout!r}; expected one of {LAYOUTS}')


# ---------------------------------------------------------------- encoding


def _atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it."""
    folder = os.path.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _cv2_bytes(arr: np.ndarray, ext: str, params: Sequence[int] = ()) -> bytes:
    """Encode with OpenCV (what ``cv2.imwrite`` would write)."""
    ok, buf = cv2.imencode(ext, arr, list(params))
    if not ok:
        raise IOError(f'cv2 could not encode a {arr.dtype} {arr.shape} {ext}')
    return buf.tobytes()


def _rgb_bytes(rgb: np.ndarray, ext: str = '.png') -> bytes:
    params = (cv2.IMWRITE_JPEG_QUALITY, 92) if ext == '.jpg' else ()
    return _cv2_bytes(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), ext, params)


def _pil_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def _palette_png(index: np.ndarray, palette: List[int]) -> bytes:
    """Mode 'P' PNG whose pixel values are ``index`` (like GTA5 labels)."""
    img = Image.fromarray(np.ascontiguousarray(index, np.uint8))
    img.putpalette(palette)  # L -> P, indices kept
    assert img.mode == 'P'
    return _pil_bytes(img)


def _gray_png(arr: np.ndarray) -> bytes:
    return _pil_bytes(Image.fromarray(np.ascontiguousarray(arr, np.uint8)))


# ---------------------------------------------------------------- per layout


def _gta5_data(item: ToyItem, files: Dict[str, str]) -> Dict[str, bytes]:
    lab = train_to_label_id(item.label, ignore_id=0)
    if is_gta5_mismatch(item.index):
        h, w = lab.shape
        dh, dw = GTA5_MISMATCH_SHRINK
        lab = cv2.resize(lab, (w - dw, h - dh), interpolation=cv2.INTER_NEAREST)
    return {'image': _rgb_bytes(item.rgb), 'label': _palette_png(lab, labelid_palette())}


def _synthia_data(item: ToyItem, files: Dict[str, str]) -> Dict[str, bytes]:
    sid = train_to_synthia_id(item.label)
    gt = np.zeros(sid.shape + (3, ), np.uint16)  # BGR: B=0, G=instance, R=class
    gt[..., 2] = sid
    if item.instance is not None:
        gt[..., 1] = item.instance
    return {'image': _rgb_bytes(item.rgb), 'label': _cv2_bytes(gt, '.png'),
            'color': _rgb_bytes(synthia_palette()[sid])}


def _cityscapes_data(item: ToyItem, files: Dict[str, str]) -> Dict[str, bytes]:
    lid = train_to_label_id(item.label, ignore_id=EGO_VEHICLE_ID)
    inst = lid.astype(np.uint16)
    if item.instance is not None:
        things = item.instance > 0
        inst[things] = lid[things].astype(np.uint16) * 1000 + item.instance[things] - 1
    pal = np.array(labelid_palette(), np.uint8).reshape(256, 3)
    return {'image': _rgb_bytes(item.rgb), 'label': _gray_png(item.label),
            'label_ids': _gray_png(lid), 'instance': _cv2_bytes(inst, '.png'),
            'color': _rgb_bytes(pal[lid])}


def _nthu_data(item: ToyItem, files: Dict[str, str]) -> Dict[str, bytes]:
    ext = os.path.splitext(files['image'])[1]
    out = {'image': _rgb_bytes(item.rgb, ext)}
    if item.split != 'train':
        color = colorize(item.label)
        visual = cv2.addWeighted(item.rgb, 0.5, color, 0.5, 0)
        out.update(label=_gray_png(train_to_label_id(item.label, EGO_VEHICLE_ID)),
                   color=_rgb_bytes(color), visual=_rgb_bytes(visual))
    return out


_ENCODERS = {'gta5': _gta5_data, 'synthia': _synthia_data,
             'cityscapes': _cityscapes_data, 'nthu': _nthu_data}


def write_item(layout: str, root: str, item: ToyItem,
               overwrite: bool = True) -> List[str]:
    """Write one item in ``layout`` under ``root``; returns the paths written
    (files that exist are kept when ``overwrite`` is False)."""
    files = item_files(layout, root, item.split, item.index, item.city)
    todo = {k: p for k, p in files.items() if overwrite or not os.path.exists(p)}
    if not todo:
        return []
    data = _ENCODERS[layout](item, files)
    for role, path in todo.items():
        _atomic_write(path, data[role])
    return list(todo.values())


def write_gta5(root: str, items: Iterable[ToyItem]) -> List[str]:
    """GTA5: ``images/00001.png`` RGB, ``labels/00001.png`` palette label IDs."""
    return [p for it in items for p in write_item('gta5', root, it)]


def write_synthia(root: str, items: Iterable[ToyItem]) -> List[str]:
    """SYNTHIA: ``RGB/``, ``GT/LABELS/`` (uint16, class in R), ``GT/COLOR/``."""
    return [p for it in items for p in write_item('synthia', root, it)]


def write_cityscapes(root: str, items: Iterable[ToyItem]) -> List[str]:
    """Cityscapes: ``leftImg8bit/<split>/<city>/`` and ``gtFine/...`` maps."""
    return [p for it in items for p in write_item('cityscapes', root, it)]


def write_nthu(root: str, items: Iterable[ToyItem]) -> List[str]:
    """NTHU: ``<City>/Images/{Train,Test}``, ``<City>/Labels/Test/*_eval.png``."""
    return [p for it in items for p in write_item('nthu', root, it)]


# ---------------------------------------------------------------- styles

# Small per-city departures from the target style (NTHU cities differ from
# Cityscapes and from each other), applied before interpolating with ``shift``
# (so at shift 0 every city looks like the source).
NTHU_CITY_STYLE: Dict[str, Dict[str, object]] = {
    'Rome': dict(color_cast=(1.06, 1.0, 0.86), brightness=0.9, vegetation=0.8),
    'Rio': dict(saturation=0.65, brightness=0.92, vegetation=1.8, clouds=0.5),
    'Tokyo': dict(color_cast=(0.95, 1.0, 1.04), density=1.7, building_height=1.4),
    'Taipei': dict(color_cast=(1.0, 1.06, 0.92), density=1.6, vegetation=1.5),
}


def layout_style(layout: str, shift: float = 1.0, city: str = '') -> DomainStyle:
    """Style of a layout: GTA5 / SYNTHIA from the source look (SYNTHIA without
    terrain / truck and from a higher camera), Cityscapes / NTHU from the
    target look at the given ``shift``."""
    if layout == 'gta5':
        return SOURCE_STYLE
    if layout == 'synthia':
        return replace(SOURCE_STYLE, terrain_prob=0.0, truck_prob=0.0,
                       cam_height=2.2, horizon=0.44)
    if layout == 'cityscapes':
        return style_for_shift(shift)
    if layout == 'nthu':
        # street-view cameras: no ego-vehicle hood, mounted higher
        target = replace(TARGET_STYLE, ego_hood=0.0, cam_height=2.3,
                         **NTHU_CITY_STYLE.get(city, {}))
        return style_for_shift(shift, target=target)
    raise ValueError(f'unknown layout {layout!r}; expected one of {LAYOUTS}')

