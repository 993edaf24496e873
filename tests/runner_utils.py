"""Helpers shared by the tests that run mmengine's runner: interrupting a run at an
iteration (kill-and-resume tests) and writing small random images in dataset layouts."""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


class Interrupted(Exception):
    """Raised by :class:`InterruptHook`: stands for a killed run."""


@HOOKS.register_module(force=True)
class InterruptHook(Hook):
    """Raise :class:`Interrupted` after iteration ``at`` (1-based) has finished and
    every other hook (the checkpoint hook included) has run."""

    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            raise Interrupted


def write_random_images(folder: str, names, height: int, width: int,
                        rng: np.random.Generator) -> None:
    """One random uint8 BGR image per name (``name`` includes the extension)."""
    os.makedirs(folder, exist_ok=True)
    for name in names:
        cv2.imwrite(osp.join(folder, name),
                    rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def cityscapes_names(num: int) -> list:
    """File names in the Cityscapes ``leftImg8bit`` layout."""
    return [f'c_000000_{i:06d}_leftImg8bit.png' for i in range(num)]


def write_cityscapes_images(root: str, num: int, height: int, width: int,
                            seed: int = 0) -> str:
    """``num`` random target images under ``root/leftImg8bit/train/c``; returns root."""
    write_random_images(osp.join(root, 'leftImg8bit', 'train', 'c'),
                        cityscapes_names(num), height, width,
                        np.random.default_rng(seed))
    return root
