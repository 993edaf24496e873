"""Stop training at the first NaN / Inf loss or weight; never save a non-finite checkpoint."""
import math
import os.path as osp
from typing import Iterable, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_sfda.utils.bad_input import BadInputError


class NonFiniteError(BadInputError, RuntimeError):
    """Training produced a NaN or Inf loss, gradient or weight (the tools print its
    message, which names the fix, instead of a traceback)."""


def _first_non_finite(named: Iterable[Tuple[str, object]]) -> Optional[str]:
    """The name of the first non-finite number or tensor in ``named`` (one device
    synchronisation per device when all are finite)."""
    names, flags = [], []
    for name, value in named:
        if isinstance(value, torch.Tensor):
            if value.is_floating_point():
                names.append(name)
                flags.append(torch.isfinite(value).all())
        elif isinstance(value, float) and not math.isfinite(value):
            return name
    by_device = {}
    for i, flag in enumerate(flags):
        by_device.setdefault(flag.device, []).append(i)
    bad = [i for idx in by_device.values()
           if not bool(torch.stack([flags[i] for i in idx]).all())
           for i in idx if not bool(flags[i])]
    return names[min(bad)] if bad else None


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Stop the run at the first iteration whose loss or weights are not finite.

    After every training iteration the logged losses (the ``train_step`` outputs whose
    name has ``loss``; ``acc_seg`` of a batch without labelled pixels may be NaN) and,
    every ``param_interval`` iterations, the trained weights and the buffers (BN
    statistics) are checked (a NaN / Inf gradient reaches the weights at the optimizer
    step; steps that AMP's loss scaler skips leave them finite and are not stopped).
    Every checkpoint is checked before it is written. The run then raises
    :class:`NonFiniteError` naming the loss (or weight), the iteration and the last good
    checkpoint, and no checkpoint of the non-finite state is saved. Priority
    ``ABOVE_NORMAL``: before the checkpoint hook. With several processes every rank
    stops at the same iteration.

    Args:
        param_interval (int): check the weights every this many iterations (1: every
            iteration; the check is one pass over the parameters).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, param_interval: int = 1) -> None:
        if param_interval < 1:
            raise ValueError(f'NonFiniteGuardHook: param_interval must be >= 1, got '
                             f'{param_interval}')
        self.param_interval = param_interval

    @staticmethod
    def _model(runner: Runner) -> torch.nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    @staticmethod
    def _last_good(runner: Runner) -> str:
        save_file = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(save_file):
            with open(save_file) as f:
                return f.read().strip()
        return 'none (no checkpoint was saved before)'

    def _stop(self, runner: Runner, what: str, it: int) -> None:
        raise NonFiniteError(
            f'{what} is NaN or Inf at iteration {it}: training stopped, nothing saved. '
            f'Last good checkpoint: {self._last_good(runner)}. Lower the learning rate or '
            'the loss weights (or enable gradient clipping) and resume from it.')

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        it = runner.iter + 1
        bad = _first_non_finite((k, v) for k, v in (outputs or {}).items() if 'loss' in k)
        what = None if bad is None else f'loss {bad!r}'
        if what is None and it % self.param_interval == 0:
            model = self._model(runner)
            trained = [(n, p.detach()) for n, p in model.named_parameters() if p.requires_grad]
            bad = _first_non_finite(trained + list(model.named_buffers()))
            what = None if bad is None else f'weight {bad!r}'
        if get_dist_info()[1] > 1:  # every rank stops together
            flag = torch.tensor([0. if what is None else 1.])
            all_reduce(flag)
            if what is None and flag.item() > 0:
                what = 'a loss or weight on another process'
        if what is not None:
            self._stop(runner, what, it)

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        bad = _first_non_finite(checkpoint.get('state_dict', {}).items())
        if bad is not None:
            self._stop(runner, f'weight {bad!r} of the checkpoint to save',
                       checkpoint.get('meta', {}).get('iter', runner.iter))
