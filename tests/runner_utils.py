"""Helpers shared by the tests that run mmengine's runner: interrupting a run at an
iteration (kill-and-resume tests), small random images in dataset layouts, a tiny GTA5
source run, short UDA runs, and two-process (torchrun, gloo) training."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import cv2
import numpy as np
from mmengine.config import Config
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


def write_tiny_gta5(root: str, num: int = 6) -> str:
    """``num`` random 32x64 GTA5-layout pairs (classes 0-2, class 1 darker) under
    ``root/images`` and ``root/labels``; returns root."""
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'labels'), exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(num):
        img = rng.integers(0, 255, (32, 64, 3), dtype=np.uint8)
        label = np.zeros((32, 64), np.uint8)
        label[16:] = 1
        label[:, 32:] = rng.integers(0, 3)
        img[label == 1] //= 2
        cv2.imwrite(osp.join(root, 'images', f'{i:05d}.png'), img)
        cv2.imwrite(osp.join(root, 'labels', f'{i:05d}_labelTrainIds.png'), label)
    return root


def tiny_cfg(data_root: str, work_dir: str, n: int = 3) -> Config:
    """The toy source config on :func:`write_tiny_gta5` data: ``2 n`` iterations of batch
    2, a checkpoint every ``n``, no validation or test."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/toy/deeplabv3_r18_toy-gta5_source.py'))
    cfg.work_dir = work_dir
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='GTA5Dataset', data_root=data_root, pipeline=[
            dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2 * n, val_interval=100)
    cfg.param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=2 * n,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=n)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.randomness = dict(seed=0, deterministic=False)
    return cfg


def short_pair_run(cfg, data_roots, work_dir: str, iters: int):
    """Point ``cfg`` at a GTA5-layout source and a Cityscapes-layout target
    (``data_roots``), ``iters`` iterations of batch 2, a checkpoint halfway and at the
    end, no validation; returns ``cfg``."""
    gta, city = data_roots
    cfg.work_dir = work_dir
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            type='DomainPairDataset',
            source=dict(type='GTA5Dataset', data_root=gta,
                        pipeline=[dict(type='LoadImageFromFile'),
                                  dict(type='LoadAnnotations'),
                                  dict(type='RandomFlip', prob=0.5),
                                  dict(type='PackSegInputs')]),
            target=dict(type='CityscapesDataset', data_root=city,
                        data_prefix=dict(img_path='leftImg8bit/train'),
                        pipeline=[dict(type='LoadImageFromFile'),
                                  dict(type='RandomFlip', prob=0.5),
                                  dict(type='PackSegInputs')])))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=iters // 2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
RANKS_JSON = '{ranks_json}'  # stands for the workers' output file in worker arguments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_two_processes(worker: str, args, tmp_path) -> list:
    """Run ``tests/dist_workers/<worker>`` under torchrun with two CPU processes
    (``RANKS_JSON`` in ``args`` becomes the output file); the ranks' records."""
    out = osp.join(str(tmp_path), 'ranks.json')
    args = [out if a == RANKS_JSON else str(a) for a in args]
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(_free_port()), osp.join(REPO, 'tests', 'dist_workers', worker),
         *args],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'),
        timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out) as f:
        ranks = json.load(f)
    assert [r['rank'] for r in ranks] == [0, 1]
    return ranks


def assert_ranks_in_sync(ranks: list, parts) -> None:
    """Every trained part is DDP-wrapped, moved, and identical on both ranks (each rank
    saw other images, so only gradient synchronisation keeps them equal)."""
    for r in ranks:
        assert r['wrapper'] == 'MMSeparateDistributedDataParallel'
        for part in parts:
            assert r['wrapped'][part] == 'MMDistributedDataParallel', part
    for part in parts:
        assert ranks[0]['after'][part] != ranks[0]['before'][part], part
        assert ranks[0]['after'][part] == ranks[1]['after'][part], part
