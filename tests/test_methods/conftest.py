"""A small toy benchmark and its source-only model, shared by the method tests.

A reduced version of what `python tools/demo.py` and `tools/benchmarks/toy_methods.py`
build (64x128 images, short schedules) so that every method's test fits the suite's
budget. Every run is deterministic (tests/toy_runs.py), so a method and its control
differ only by what the control switches off. The data, the source model and every
run are made once per test run and shared by pytest-xdist's workers (toy_runs.run_once).
"""
import os.path as osp

import pytest
import torch

from mmseg_sfda.apis import evaluate, prepare_toy_data, toy_config, train_segmentor
from mmseg_sfda.apis.toy_benchmark import TOY_METHODS, run_toy_method, toy_adabn_loader
from toy_runs import SIZE, holding, run_once, shared_dir, short

SOURCE_CFG = 'configs/toy/deeplabv3_r18_toy-gta5_source.py'


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory) -> str:
    def make(root: str) -> str:
        prepare_toy_data(root, seed=0, height=SIZE[0], width=SIZE[1], num_source=96,
                         num_target_train=48, num_target_val=24,
                         layouts=('gta5', 'cityscapes'))
        return root
    return run_once(tmp_path_factory, 'toy_methods_data', make)


@pytest.fixture(scope='session')
def toy_source(toy_root, tmp_path_factory):
    """(checkpoint, metrics) of the source-only model (120 iterations, seed 0)."""
    def make(work: str) -> list:
        torch.manual_seed(0)
        cfg = toy_config(SOURCE_CFG, toy_root, short(120), SIZE)
        ckpt = train_segmentor(cfg, osp.join(work, 'source'))
        return [ckpt, evaluate(cfg, ckpt, osp.join(work, 'eval'))]
    return tuple(run_once(tmp_path_factory, 'toy_source', make))


@pytest.fixture(scope='session')
def toy_adabn(toy_root, toy_source, tmp_path_factory):
    """Metrics of the source model with target BatchNorm statistics (AdaBN)."""
    def make(work: str) -> dict:
        cfg = toy_config(SOURCE_CFG, toy_root, short(120), SIZE)
        return evaluate(cfg, toy_source[0], work,
                        adabn_dataloader=toy_adabn_loader(toy_root))
    return run_once(tmp_path_factory, 'toy_adabn', make)


@pytest.fixture(scope='session')
def toy_work(tmp_path_factory) -> str:
    """One work dir for every method run, shared by pytest-xdist's workers, so a run
    another method starts from (the AdaptSegNet model of PixIntraDA) is trained once."""
    work = shared_dir(tmp_path_factory) / 'toy_methods'
    work.mkdir(exist_ok=True)
    return str(work)


@pytest.fixture(scope='session')
def toy_method(toy_root, toy_source, toy_work):
    """``toy_method(name, iters, variant='method', **stage_options)`` ->
    (checkpoint, {stage: metrics}) of a method or control run from the source model.
    A run holds the locks of its own folders and of the runs it starts from, so
    another worker waits for it and then reuses it (runs resume, see
    :func:`run_toy_method`) instead of training the same folder at the same time."""
    def run(name: str, iters: int, variant: str = 'method', **stage_options):
        locks, before = [f'{name}-{variant}'], TOY_METHODS[name].before
        while before:
            locks.append(f'{before}-method')
            before = TOY_METHODS[before].before
        with holding(toy_work, locks):
            torch.manual_seed(0)
            return run_toy_method(name, toy_root, toy_source[0], toy_work, short(iters),
                                  variant, stage_options, SIZE)
    return run
