"""Random states in checkpoints: a resumed run draws what an uninterrupted one would."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_sfda.utils.rng_state import get_rng_state, set_rng_state
from .resume_iterator import ResumeIteratorProxy

META_KEY = 'rng_state'


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the Python, NumPy and torch (and CUDA) random states in every checkpoint
    (``meta['rng_state']``) and restore them on resume: dropout and the main process's
    random augmentation continue as in an uninterrupted run.

    The state is restored at the point where the uninterrupted run saved it: in an
    iteration-based loop after mmengine has skipped the batches trained before the
    checkpoint, just before the next batch is fetched; in an epoch-based loop before
    the next epoch. Validation leaves the random states as it found them, so what runs
    between a save and the next batch draws nothing. With several processes the states
    of rank 0 (which writes checkpoints) are restored on every rank (mmengine seeds all
    ranks alike unless ``diff_rank_seed``).
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None
        self._loaded_iter: Optional[int] = None
        self._before_val: Optional[dict] = None

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[META_KEY] = get_rng_state()

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded = meta.get(META_KEY)
        self._loaded_iter = meta.get('iter')

    def before_train_epoch(self, runner: Runner) -> None:
        state, self._loaded = self._loaded, None
        if state is None or runner.iter == 0 or runner.iter != self._loaded_iter:
            return  # not a resume (load_from), or a checkpoint without states
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # the loop skips runner.iter batches next
            loop.dataloader_iterator = ResumeIteratorProxy(
                loop, skip=runner.iter, on_fetch=lambda: set_rng_state(state))
        else:
            set_rng_state(state)

    def before_val(self, runner: Runner) -> None:
        self._before_val = get_rng_state()

    def after_val(self, runner: Runner) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
