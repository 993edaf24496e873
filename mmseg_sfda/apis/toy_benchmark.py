"""The toy domain-shift benchmark as used by ``tools/demo.py`` and the method tests."""
import copy
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

from mmengine.config import Config

TOY_PREFIX = 'data/toy'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(args: List[str]) -> None:
    """Run one of ``tools/`` as a subprocess, raising with its command line on failure."""
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', args[0])] + args[1:]
    result = subprocess.run(cmd, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed with exit code {result.returncode}')


def prepare_toy_data(data_root: str, seed: int = 0, extra: Optional[List[str]] = None
                     ) -> None:
    """Make the toy domains (if absent) and convert the GTA5 / SYNTHIA labels.

    Both tools resume, so a second call costs a directory scan.
    """
    run_tool(['make_toy_domains.py', '--out', data_root, '--seed', str(seed)] +
             (extra or []))
    if osp.isdir(osp.join(data_root, 'gta5')):
        run_tool(['dataset_converters/gta5.py', osp.join(data_root, 'gta5')])
    if osp.isdir(osp.join(data_root, 'synthia')):
        run_tool(['dataset_converters/synthia.py', osp.join(data_root, 'synthia')])


def _retarget(node, data_root: str):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'data_root' and isinstance(value, str) and \
                    value.startswith(TOY_PREFIX):
                node[key] = data_root + value[len(TOY_PREFIX):]
            else:
                _retarget(value, data_root)
    elif isinstance(node, list):
        for value in node:
            _retarget(value, data_root)
    return node


def _scale_schedulers(node, old_iters: int, new_iters: int):
    """Scale every iteration-based scheduler's ``begin`` / ``end`` by new / old."""
    if isinstance(node, dict) and 'type' in node:
        for key in ('begin', 'end'):
            value = node.get(key)
            if isinstance(value, int) and not node.get('by_epoch', True):
                node[key] = min(round(value * new_iters / old_iters), new_iters) \
                    if value < 2 * old_iters else value  # e.g. end=INF: unbounded
    elif isinstance(node, dict):
        for value in node.values():
            _scale_schedulers(value, old_iters, new_iters)
    elif isinstance(node, list):
        for value in node:
            _scale_schedulers(value, old_iters, new_iters)


def toy_config(path: str, data_root: str = TOY_PREFIX,
               options: Optional[Dict] = None) -> Config:
    """Load a toy config with its ``data/toy`` roots moved to ``data_root``.

    ``options`` are merged as ``--cfg-options``; where they change
    ``train_cfg.max_iters``, every iteration-based ``param_scheduler`` is rescaled to the
    new length (a run shortened to 20 iterations anneals its learning rate to the end
    instead of stopping at 85% of its peak).
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, path) if not osp.isabs(path) else path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks'):
        if cfg.get(key):  # custom_hooks: e.g. PseudoLabelHook's labelling loader
            cfg[key] = _retarget(copy.deepcopy(cfg[key]), data_root)
    old_iters = cfg.get('train_cfg', {}).get('max_iters')
    if options:
        cfg.merge_from_dict(options)
    new_iters = cfg.get('train_cfg', {}).get('max_iters')
    if old_iters and new_iters and new_iters != old_iters and cfg.get('param_scheduler'):
        schedulers = copy.deepcopy(cfg.param_scheduler)
        _scale_schedulers(schedulers, old_iters, new_iters)
        cfg.param_scheduler = schedulers
    return cfg
