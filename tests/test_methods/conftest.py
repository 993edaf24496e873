"""A small toy benchmark and its source-only model, shared by the method tests.

A reduced version of what `python tools/demo.py` and `tools/benchmarks/toy_methods.py`
build (64x128 images, short schedules) so that every method's test fits the suite's
budget. Every run is deterministic (tests/toy_runs.py), so a method and its control
differ only by what the control switches off.
"""
import pytest
import torch

from mmseg_sfda.apis import evaluate, prepare_toy_data, toy_config, train
from mmseg_sfda.apis.toy_benchmark import run_toy_method, toy_adabn_loader
from toy_runs import SIZE, short

SOURCE_CFG = 'configs/toy/deeplabv3_r18_toy-gta5_source.py'


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    prepare_toy_data(root, seed=0, extra=[
        '--height', str(SIZE[0]), '--width', str(SIZE[1]), '--num-source', '96',
        '--num-target-train', '48', '--num-target-val', '24', '--layouts', 'gta5',
        'cityscapes', '--nproc', '1'])
    return root


@pytest.fixture(scope='session')
def toy_source(toy_root, tmp_path_factory):
    """(checkpoint, metrics) of the source-only model (120 iterations, seed 0)."""
    work = tmp_path_factory.mktemp('toy_source')
    torch.manual_seed(0)
    cfg = toy_config(SOURCE_CFG, toy_root, short(120), SIZE)
    ckpt = train(cfg, str(work / 'source'))
    return ckpt, evaluate(cfg, ckpt, str(work / 'eval'))


@pytest.fixture(scope='session')
def toy_adabn(toy_root, toy_source, tmp_path_factory):
    """Metrics of the source model with target BatchNorm statistics (AdaBN)."""
    ckpt, _ = toy_source
    cfg = toy_config(SOURCE_CFG, toy_root, short(120), SIZE)
    return evaluate(cfg, ckpt, str(tmp_path_factory.mktemp('adabn')),
                    adabn_dataloader=toy_adabn_loader(toy_root))


@pytest.fixture(scope='session')
def toy_work(tmp_path_factory):
    """One work dir for every method run, so a run another method starts from (the
    AdaptSegNet model of PixIntraDA) is trained once."""
    return str(tmp_path_factory.mktemp('toy_methods'))


@pytest.fixture(scope='session')
def toy_method(toy_root, toy_source, toy_work):
    """``toy_method(name, iters, variant='method', **stage_options)`` ->
    (checkpoint, {stage: metrics}) of a method or control run from the source model."""
    def run(name: str, iters: int, variant: str = 'method', **stage_options):
        torch.manual_seed(0)
        return run_toy_method(name, toy_root, toy_source[0], toy_work, short(iters),
                              variant, stage_options, SIZE)
    return run
