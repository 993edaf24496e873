"""A small toy benchmark and its source-only model, shared by the method tests.

A reduced version of what `python tools/demo.py` builds (64x128 images, short
schedules) so that every method's test fits the suite's budget.
"""
import pytest
import torch

from mmseg_sfda.apis import (build_test_runner, evaluate, prepare_toy_data, toy_config,
                             train)
from toy_runs import SIZE, short


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
    cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', toy_root,
                     dict(short(120), **{'model.data_preprocessor.size': SIZE}))
    ckpt = train(cfg, str(work / 'source'))
    return ckpt, evaluate(cfg, ckpt, str(work / 'eval'))


@pytest.fixture(scope='session')
def toy_adabn(toy_root, toy_source, tmp_path_factory):
    """Metrics of the source model with target BatchNorm statistics (AdaBN)."""
    ckpt, _ = toy_source
    cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', toy_root,
                     dict(short(120), **{'model.data_preprocessor.size': SIZE}))
    loader = toy_config('configs/_base_/datasets/toy_cityscapes_target.py',
                        toy_root).train_dataloader
    loader.update(num_workers=0, persistent_workers=False,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    loader.dataset.pipeline = [t for t in loader.dataset.pipeline
                               if t['type'] != 'RandomFlip']
    runner = build_test_runner(cfg, ckpt, str(tmp_path_factory.mktemp('adabn')),
                               adabn_dataloader=loader)
    return runner.test()


@pytest.fixture(scope='session')
def toy_adaptsegnet(toy_root, toy_source, tmp_path_factory):
    """(checkpoint, metrics) of 20 AdaptSegNet iterations from the source model (seed 0):
    the adapted model of the AdaptSegNet test and PixIntraDA's inter-domain model."""
    source_ckpt, _ = toy_source
    work = tmp_path_factory.mktemp('toy_adaptsegnet')
    torch.manual_seed(0)
    cfg = toy_config('configs/toy/adaptsegnet_deeplabv3_r18_toy-gta2cs.py', toy_root,
                     dict(short(20), **{'model.source_checkpoint': source_ckpt,
                                        'model.segmentor.data_preprocessor.size': SIZE}))
    ckpt = train(cfg, str(work / 'adaptsegnet'))
    return ckpt, evaluate(cfg, ckpt, str(work / 'eval'))
