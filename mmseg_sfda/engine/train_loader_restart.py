"""Pointing the training pipeline at a new pseudo-label round and restarting its loader.

Public mmengine 0.10.7 API used: ``IterBasedTrainLoop.dataloader_iterator`` and
``.dataloader`` (plain attributes), ``InfiniteSampler(dataset, shuffle, seed)`` and its
``indices`` stream. What has no public form: the loop's iterator wrapper
(``runner.loops._InfiniteDataloaderIterator``) has no reset, so a new one of the same
type is made from ``type(...)`` of the current one (its class is never imported); and an
``InfiniteSampler`` cannot be restarted at a position, so a fresh sampler of the same
dataset, shuffle and seed (public constructor) gives an identical index stream, of which
the first ``position`` batches are skipped.
"""
import itertools
from typing import Iterator

from mmengine.dataset import InfiniteSampler
from mmengine.runner import Runner

from mmseg_sfda.utils.nested_datasets import nested_datasets

from .hooks.resume_iterator import ResumeIteratorProxy, real_iterator


def pseudo_label_transforms(dataset) -> Iterator[object]:
    """Every transform with a ``pseudo_label_dir`` in ``dataset``'s pipelines
    (wrapped and concatenated datasets included)."""
    for ds in nested_datasets(dataset):
        for t in getattr(getattr(ds, 'pipeline', None), 'transforms', []):
            if hasattr(t, 'pseudo_label_dir'):
                yield t


def restarts_workers(runner: Runner) -> bool:
    """Whether the training loader has worker processes to restart."""
    return runner.train_dataloader.num_workers > 0 and hasattr(runner.train_loop,
                                                               'dataloader_iterator')


def point_train_loader(runner: Runner, round_dir: str, position: int = 0,
                       restart: bool = True) -> None:
    """Make the training pipeline read ``round_dir``.

    With worker processes (and ``restart``) the loader restarts (fresh workers see the
    new directory; batches prefetched with the old labels are dropped), its sampler
    continuing at batch ``position`` of the uninterrupted stream (an
    ``InfiniteSampler``)."""
    for t in pseudo_label_transforms(runner.train_dataloader.dataset):
        t.pseudo_label_dir = round_dir
    if not restart or not restarts_workers(runner):
        return
    loop, loader = runner.train_loop, runner.train_dataloader
    iterator_type = type(real_iterator(loop.dataloader_iterator))
    # dropping the old iterator closes the sampler's shared index generator ...
    loop.dataloader_iterator = None
    sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
    if isinstance(sampler, InfiniteSampler):  # ... so start a new one, in place
        fresh = InfiniteSampler(sampler.dataset, shuffle=sampler.shuffle,
                                seed=sampler.seed)
        skip = (position or 0) * loader.batch_size
        sampler.indices = itertools.islice(fresh.indices, skip, None)
    loop.dataloader_iterator = iterator_type(loop.dataloader)


def skip_restarted_batches(runner: Runner, absorb: int) -> None:
    """A resumed run whose stream was restarted at batch ``absorb`` (fresh workers,
    mmengine's worker seeds), as in the uninterrupted run: of the ``runner.iter``
    batches the loop now skips only those since then are fetched (advancing the
    workers' random states as the uninterrupted run did); the first ``absorb`` are
    dropped unfetched."""
    if not restarts_workers(runner):
        return
    runner.train_loop.dataloader_iterator = ResumeIteratorProxy(
        runner.train_loop, skip=runner.iter, absorb=absorb)
