"""Training through mmengine's runner, shared by the demo, the benchmarks and the tests."""
import copy
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file


def run_cfg(cfg: Config, work_dir: str) -> Config:
    """A copy of ``cfg`` that runs in ``work_dir`` from its own state only."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.resume = False
    return cfg


def train_segmentor(cfg: Config, work_dir: str, resume: bool = True) -> str:
    """Train ``cfg`` through the runner; return the final checkpoint's path.

    With ``resume`` a run whose final checkpoint exists is not repeated, and an
    interrupted one continues from its latest checkpoint.
    """
    final = osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    latest = find_latest_checkpoint(work_dir) if resume else None
    for ckpt in (final, latest):
        if resume and ckpt and osp.isfile(ckpt):
            _check_seed(ckpt, cfg.get('randomness', {}).get('seed'))
    if resume and osp.isfile(final):
        return final
    cfg = run_cfg(cfg, work_dir)
    cfg.resume = resume and find_latest_checkpoint(work_dir) is not None
    Runner.from_cfg(cfg).train()
    if not osp.isfile(final):
        raise RuntimeError(f'training finished without writing {final}')
    return final


def _check_seed(checkpoint: str, seed: Optional[int]) -> None:
    """Refuse to reuse a checkpoint trained with another seed."""
    if seed is None:
        return
    meta = load_checkpoint_file(checkpoint, map_location='cpu').get('meta', {})
    if meta.get('seed') not in (None, seed):
        raise RuntimeError(
            f'{checkpoint} was trained with seed {meta["seed"]}, this run asks for seed '
            f'{seed}: use another work_dir for this seed (or delete that one)')
