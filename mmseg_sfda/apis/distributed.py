"""Distributed set-up that also works on machines without CUDA."""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import is_distributed
from mmengine.logging import print_log


def init_cpu_distributed(cfg: Config) -> bool:
    """Start the process group for ``--launcher pytorch`` when CUDA is absent.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which fails
    on a CPU-only PyTorch; the runner skips its own initialisation when a process group
    already exists, so this starts one (``env_cfg.dist_cfg.backend``, with nccl, which
    needs CUDA, replaced by gloo) and lets the runner carry on. Returns whether it started one.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available() \
            or is_distributed():
        return False
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR')
               if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher pytorch needs the environment variables {missing}: '
                           'start it with torchrun (tools/dist_train.sh)')
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    if backend == 'nccl':  # the OpenMMLab default; it needs CUDA
        print_log('no CUDA device: distributed backend nccl replaced by gloo',
                  logger='current')
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **dist_cfg)
    _cpu_model_wrapper(cfg)
    return True


def _cpu_model_wrapper(cfg: Config) -> None:
    """DDP wrappers on CPU modules need ``device_ids=None``; the runner passes the local
    rank as a GPU index unless the wrapper config sets it."""
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:  # the runner's default wrapper, with its default settings
        wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                       find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)


def finish_distributed() -> None:
    """Leave the process group (after all ranks arrive), if there is one.

    A process that exits with a live gloo group can abort at interpreter exit
    ("terminate called without an active exception").
    """
    if is_distributed():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
