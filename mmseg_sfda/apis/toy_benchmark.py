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


def toy_config(path: str, data_root: str = TOY_PREFIX,
               options: Optional[Dict] = None) -> Config:
    """Load a toy config with its ``data/toy`` roots moved to ``data_root``."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, path) if not osp.isabs(path) else path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks'):
        if cfg.get(key):  # custom_hooks: e.g. PseudoLabelHook's labelling loader
            cfg[key] = _retarget(copy.deepcopy(cfg[key]), data_root)
    if options:
        cfg.merge_from_dict(options)
    return cfg
