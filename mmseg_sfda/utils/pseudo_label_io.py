"""The on-disk format of one pseudo-labelling round: the only module that writes or reads
it (``PseudoLabelHook`` writes, ``LoadPseudoLabel`` reads). Files are written atomically.

A round directory holds, per target image ``stem`` (file name without extension,
:func:`image_stem`):

- ``predictions/{stem}.png``: uint8 arg-max class of the labelling model;
- ``confidence/{stem}.png``: uint16 PNG, the arg-max class's score * 65535;
- ``negative/{stem}.npz`` (optional): ``bits`` = ``np.packbits`` of the (H, W, C)
  negative-label mask along the last axis, ``num_classes`` = C;
- ``entropy/{stem}.json`` (optional): the image's mean prediction entropy;
- ``labels/{stem}.png``: uint8 pseudo label, 255 = ignore (written once thresholds
  are known);
- ``class_stats.json``, ``split.json`` (optional: stem -> easy?), ``vis.png`` and
  ``DONE`` when the round is complete.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Any, Dict, Optional

import cv2
import numpy as np

from .bad_input import MissingInputError

CONFIDENCE_SCALE = 65535
LABELS, PREDICTIONS, CONFIDENCE, NEGATIVE, ENTROPY = (
    'labels', 'predictions', 'confidence', 'negative', 'entropy')
SPLIT_FILE, CLASS_STATS_FILE, META_FILE, DONE_FILE = (
    'split.json', 'class_stats.json', 'meta.json', 'DONE')


def image_stem(img_path: str) -> str:
    """File stem shared by an image and its pseudo-label files
    (``.../frankfurt_000000_000294_leftImg8bit.png`` ->
    ``frankfurt_000000_000294_leftImg8bit``)."""
    return osp.splitext(osp.basename(img_path))[0]


def round_file(round_dir: str, kind: str, stem: str) -> str:
    """Path of one per-image file of a round (``kind`` is a sub-folder name)."""
    ext = {NEGATIVE: '.npz', ENTROPY: '.json'}.get(kind, '.png')
    return osp.join(round_dir, kind, stem + ext)


def write_bytes_atomic(data: bytes, dst: str) -> None:
    """Write ``data`` to ``dst`` through a temporary file and a rename."""
    folder, name = osp.split(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _encode_png(arr: np.ndarray, dst: str) -> bytes:
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(arr))
    if not ok:
        raise OSError(f'could not encode {dst} as PNG')
    return buf.tobytes()


def write_label(dst: str, label: np.ndarray) -> None:
    """A uint8 label map (H, W) as a PNG."""
    write_bytes_atomic(_encode_png(label.astype(np.uint8), dst), dst)


def write_confidence(dst: str, confidence: np.ndarray) -> None:
    """Scores in [0, 1] (H, W) as a uint16 PNG (steps of 1 / 65535)."""
    scaled = np.rint(np.clip(confidence, 0, 1) * CONFIDENCE_SCALE).astype(np.uint16)
    write_bytes_atomic(_encode_png(scaled, dst), dst)


def write_confidence_raw(dst: str, raw: np.ndarray) -> None:
    """Scores already stored as uint16 steps of 1 / 65535 (H, W)."""
    if raw.dtype != np.uint16:
        raise ValueError(f'write_confidence_raw: expected uint16 scores, got {raw.dtype}')
    write_bytes_atomic(_encode_png(raw, dst), dst)


def write_negative(dst: str, mask: np.ndarray) -> None:
    """A bool (H, W, C) negative-label mask, bit-packed along C."""
    folder, name = osp.split(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.npz', dir=folder)
    os.close(fd)
    try:
        np.savez_compressed(tmp, bits=np.packbits(mask.astype(bool), axis=-1),
                            num_classes=np.int64(mask.shape[-1]))
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _read_png(path: str, dtype) -> np.ndarray:
    if not osp.isfile(path):
        raise MissingInputError(
            f'pseudo-label file not found: {path}. The round directory must hold one '
            'file per training image (written by PseudoLabelHook); check that the hook '
            'labelled this dataset.')
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise OSError(f'cannot decode the pseudo-label file {path} (truncated or not a '
                      'PNG?)')
    if arr.dtype != dtype or arr.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel {np.dtype(dtype).name} PNG '
                         f'as written by PseudoLabelHook, got {arr.dtype} with shape '
                         f'{arr.shape}')
    return arr


def read_label(path: str) -> np.ndarray:
    """A uint8 label / prediction map."""
    return _read_png(path, np.uint8)


def read_confidence(path: str) -> np.ndarray:
    """Scores (H, W) float32 in [0, 1]."""
    return _read_png(path, np.uint16).astype(np.float32) / CONFIDENCE_SCALE


def read_negative(path: str) -> np.ndarray:
    """The (H, W, C) negative-label mask as uint8 0/1."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'negative-label mask not found: {path}. Make PseudoLabelHook write negative '
            'labels (negative_threshold) or do not load them.')
    with np.load(path, allow_pickle=False) as npz:
        for key in ('bits', 'num_classes'):
            if key not in npz.files:
                raise KeyError(f'{path} has no key {key!r} (keys: {npz.files}); expected '
                               'bits=np.packbits(mask, axis=-1) and num_classes=C.')
        bits = npz['bits']
        num_classes = int(npz['num_classes'])
    if bits.ndim != 3 or bits.dtype != np.uint8 or \
            bits.shape[-1] != (num_classes + 7) // 8:
        raise ValueError(
            f'{path}: bits has shape {bits.shape} ({bits.dtype}) but num_classes='
            f'{num_classes} needs (H, W, {(num_classes + 7) // 8}) uint8 (np.packbits '
            'along the last axis).')
    return np.unpackbits(bits, axis=-1, count=num_classes)


def write_json_atomic(dst: str, obj: Dict[str, Any]) -> None:
    write_bytes_atomic(json.dumps(obj, indent=1).encode(), dst)


def read_json(path: str) -> Optional[Dict[str, Any]]:
    """The JSON object in ``path``, or None when there is none."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)
