"""Files of one pseudo-labelling round, written atomically.

A round directory holds, per target image ``stem`` (file name without extension):

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

CONFIDENCE_SCALE = 65535


def round_file(round_dir: str, kind: str, stem: str) -> str:
    """Path of one per-image file of a round (``kind`` is a sub-folder name)."""
    ext = dict(negative='.npz', entropy='.json').get(kind, '.png')
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
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise FileNotFoundError(f'pseudo-label file missing or unreadable: {path}')
    if arr.dtype != dtype or arr.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel {np.dtype(dtype).name} PNG, '
                         f'got {arr.dtype} with shape {arr.shape}')
    return arr


def read_label(path: str) -> np.ndarray:
    """A uint8 label / prediction map."""
    return _read_png(path, np.uint8)


def read_confidence(path: str) -> np.ndarray:
    """Scores (H, W) float32 in [0, 1]."""
    return _read_png(path, np.uint16).astype(np.float32) / CONFIDENCE_SCALE


def read_negative(path: str) -> np.ndarray:
    """The bool (H, W, C) negative-label mask."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'negative pseudo-label file missing: {path}')
    with np.load(path, allow_pickle=False) as data:
        num_classes = int(data['num_classes'])
        return np.unpackbits(data['bits'], axis=-1, count=num_classes).astype(bool)


def write_json_atomic(dst: str, obj: Dict[str, Any]) -> None:
    write_bytes_atomic(json.dumps(obj, indent=1).encode(), dst)


def read_json(path: str) -> Optional[Dict[str, Any]]:
    """The JSON object in ``path``, or None when there is none."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)
