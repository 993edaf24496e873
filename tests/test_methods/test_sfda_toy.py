"""SFDA raises target mIoU over the source-only model on a small toy benchmark (seed 0).

A reduced version of `python tools/demo.py --method sfda` (64x128 images, short
schedules) so that it fits the test budget; docs/toy_benchmark.md has the full-size run.
"""
import os.path as osp

import pytest
import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import evaluate, prepare_toy_data, toy_config, train

SIZE = (64, 128)


def short(iters: int) -> dict:
    return {
        'randomness.seed': 0, 'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters, 'default_hooks.checkpoint.interval': iters,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'default_hooks.logger.interval': 10
    }


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    prepare_toy_data(root, seed=0, extra=[
        '--height', str(SIZE[0]), '--width', str(SIZE[1]), '--num-source', '96',
        '--num-target-train', '48', '--num-target-val', '24', '--layouts', 'gta5',
        'cityscapes', '--nproc', '1'])
    return root


def test_sfda_beats_source_only(toy_root, tmp_path):
    torch.manual_seed(0)
    source_cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', toy_root,
                            dict(short(120), **{'model.data_preprocessor.size': SIZE}))
    source_ckpt = train(source_cfg, str(tmp_path / 'source'))
    source = evaluate(source_cfg, source_ckpt, str(tmp_path / 'eval'))

    sfda_cfg = toy_config(
        'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py', toy_root,
        dict(short(20), **{
            'model.source_checkpoint': source_ckpt,
            'model.segmentor.data_preprocessor.size': SIZE,
            'model.generator.out_size': (32, 64),
        }))
    sfda_ckpt = train(sfda_cfg, str(tmp_path / 'sfda'))
    assert osp.isfile(sfda_ckpt)
    adapted = evaluate(sfda_cfg, sfda_ckpt, str(tmp_path / 'eval'))
    print(f"mIoU13 source-only {source['mIoU13']:.2f} -> SFDA {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 1.0
