"""Config handling shared by ``tools/train.py``, ``tools/test.py`` and ``tools/demo.py``."""
import os.path as osp
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config

from mmseg_sfda.utils.bad_input import MissingInputError
from .input_checks import check_cfg_options


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config; ``work_dir`` priority is CLI > config > ``work_dirs/<config name>``."""
    if not osp.isfile(path):
        raise MissingInputError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def _amp_wrapper(wrapper_cfg: dict, where: str) -> None:
    wrapper_type = wrapper_cfg.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError(f'--amp needs {where}.type to be OptimWrapper, got {wrapper_type}')
    wrapper_cfg['type'] = 'AmpOptimWrapper'
    wrapper_cfg['loss_scale'] = 'dynamic'


def enable_amp(cfg: Config) -> None:
    """Switch every optimizer wrapper of ``cfg`` to mmengine's ``AmpOptimWrapper``.

    Works for a single ``optim_wrapper`` and for the per-module dict read by
    ``MultiModuleOptimWrapperConstructor`` (each part is switched on its own).
    """
    if not torch.cuda.is_available():
        raise RuntimeError('--amp needs a CUDA device (mmengine\'s AmpOptimWrapper does '
                           'not run on the CPU); drop --amp on this machine.')
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('constructor') == 'MultiModuleOptimWrapperConstructor':
        for name, part in optim_wrapper.items():
            if isinstance(part, dict) and 'optimizer' in part:
                _amp_wrapper(part, f'optim_wrapper.{name}')
    else:
        _amp_wrapper(optim_wrapper, 'optim_wrapper')


def missing_inputs(cfg: Config) -> List[str]:
    """What a run of ``cfg`` needs on disk and lacks: data roots and the source model.

    Each entry names the path, the config key and how to make it.
    """
    missing = []
    ckpt = cfg.get('model', {}).get('source_checkpoint')
    if ckpt and '://' not in ckpt and not osp.isfile(ckpt):
        missing.append(f'model.source_checkpoint: {ckpt} (train the source model first, '
                       'e.g. with a config of configs/source_only/, or set '
                       '--cfg-options model.source_checkpoint=PATH)')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        dataset = loader.get('dataset', {}) if loader else {}
        for name, node in _data_roots(dataset, f'{key}.dataset'):
            if not osp.isdir(node):
                missing.append(f'{name}: {node} (see docs/dataset_preparation.md, or set '
                               f'--cfg-options {name}=PATH)')
    return sorted(set(missing))


def _data_roots(dataset: dict, prefix: str) -> List[Tuple[str, str]]:
    """``(config key, data_root)`` of a dataset config and of the datasets it wraps."""
    roots = []
    if isinstance(dataset.get('data_root'), str):
        roots.append((f'{prefix}.data_root', dataset['data_root']))
    for key in ('source', 'target', 'dataset'):
        if isinstance(dataset.get(key), dict):
            roots += _data_roots(dataset[key], f'{prefix}.{key}')
    return roots


def check_inputs(cfg: Config) -> None:
    """Raise one clear error listing every missing input of ``cfg``."""
    missing = missing_inputs(cfg)
    if missing:
        raise MissingInputError('this config needs, and cannot find:\n  - ' +
                                '\n  - '.join(missing))
