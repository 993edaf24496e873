"""Config handling shared by ``tools/train.py``, ``tools/test.py`` and ``tools/demo.py``."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config; ``work_dir`` priority is CLI > config > ``work_dirs/<config name>``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
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
    if 'constructor' in optim_wrapper and 'type' not in optim_wrapper:
        for name, part in optim_wrapper.items():
            if isinstance(part, dict) and 'optimizer' in part:
                _amp_wrapper(part, f'optim_wrapper.{name}')
    else:
        _amp_wrapper(optim_wrapper, 'optim_wrapper')
