"""Settings shared by the short toy-benchmark runs of tests/test_methods.

Every run is deterministic on CPU: one intra-op thread (tests/conftest.py), no loader
workers, ``torch.use_deterministic_algorithms`` (mmengine's ``randomness.deterministic``)
and a fixed seed; ``toy_config`` rescales the learning-rate schedule to the shortened run.
Session fixtures that train are made once per test run and shared by pytest-xdist's
workers (:func:`run_once`).
"""
import contextlib
import json
import os
import os.path as osp
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from filelock import FileLock

SIZE = (64, 128)


def short(iters: int, seed: int = 0) -> dict:
    """cfg-options for a short single-process run of ``iters`` iterations."""
    return {
        'randomness.seed': seed, 'randomness.deterministic': True,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters, 'default_hooks.checkpoint.interval': iters,
        'train_cfg.val_begin': iters + 1,  # no validation in training: evaluate() scores
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'default_hooks.logger.interval': 10
    }


def shared_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this test run sees: the workers' common
    base temp (``pytest-N``, theirs are ``pytest-N/popen-gwK``); without xdist, this
    process's own base temp (its parent holds other runs' folders)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


def run_once(tmp_path_factory, name: str, make: Callable[[str], Any]) -> Any:
    """``make(folder)`` once per test run, whichever worker asks first: it runs under a
    file lock in :func:`shared_dir` (``folder`` is made there; after a failed ``make``
    the next caller tries again in it), its JSON-able result is saved beside the folder,
    and every caller (that worker too) gets the saved result, so workers never race
    on, or repeat, an expensive session fixture (the pattern of pytest-xdist's docs)."""
    folder = shared_dir(tmp_path_factory) / name
    result = folder.with_suffix('.json')
    with FileLock(str(folder) + '.lock'):
        if not result.is_file():
            folder.mkdir(exist_ok=True)
            value = make(str(folder))
            tmp = result.with_suffix('.json.tmp')
            tmp.write_text(json.dumps(value))
            os.replace(tmp, result)
        return json.loads(result.read_text())


@contextlib.contextmanager
def holding(folder: str, names: Iterable[str]) -> Iterator[None]:
    """Hold ``folder/<name>.lock`` for every name, taken in sorted order (no deadlock
    between workers asking for overlapping sets)."""
    with contextlib.ExitStack() as stack:
        for name in sorted(set(names)):
            stack.enter_context(FileLock(osp.join(folder, f'{name}.lock')))
        yield
