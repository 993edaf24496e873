"""A picture of predictions side by side: image | ground truth | model A | model B ..."""
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np

from mmseg_sfda.utils.class_maps import IGNORE_INDEX


def colorize(label: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Map an HxW label map to an HxWx3 RGB picture; ignore (255) is black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:len(palette)] = np.asarray(palette, dtype=np.uint8)
    lut[IGNORE_INDEX] = 0
    return lut[np.asarray(label, dtype=np.uint8)]


def _titled(tile: np.ndarray, title: str) -> np.ndarray:
    bar = np.full((18, tile.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(bar, title, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, tile], axis=0)


def make_grid(rows: List[Dict[str, np.ndarray]], gap: int = 4) -> np.ndarray:
    """Stack rows of equally sized RGB tiles; each row maps a column title to a tile.

    Every row must have the same titles in the same order; tiles are titled once, on top.
    """
    if not rows:
        raise ValueError('make_grid: no rows')
    titles = list(rows[0])
    for i, row in enumerate(rows):
        if list(row) != titles:
            raise ValueError(f'make_grid: row {i} has columns {list(row)}, expected {titles}')
    h, w = next(iter(rows[0].values())).shape[:2]
    lines = []
    for i, row in enumerate(rows):
        tiles = []
        for title, tile in row.items():
            if tile.shape[:2] != (h, w):
                tile = cv2.resize(tile, (w, h), interpolation=cv2.INTER_NEAREST)
            tile = _titled(tile, title) if i == 0 else tile
            tiles += [tile, np.full((tile.shape[0], gap, 3), 255, dtype=np.uint8)]
        lines.append(np.concatenate(tiles[:-1], axis=1))
    width = max(line.shape[1] for line in lines)
    white_row = np.full((gap, width, 3), 255, dtype=np.uint8)
    out = []
    for line in lines:
        out += [line, white_row]
    return np.ascontiguousarray(np.concatenate(out[:-1], axis=0))


def save_rgb(path: str, image: np.ndarray) -> None:
    """Write an RGB uint8 image atomically (temp file + rename)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    root, ext = osp.splitext(path)
    tmp = f'{root}.tmp{os.getpid()}{ext}'
    if not cv2.imwrite(tmp, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write {path}')
    os.replace(tmp, path)
