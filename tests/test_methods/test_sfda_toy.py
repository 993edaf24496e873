"""SFDA raises target mIoU over the source-only model on a small toy benchmark (seed 0).

A reduced version of `python tools/demo.py --method sfda` (conftest.py builds the data
and the source model); docs/toy_benchmark.md has the full-size run.
"""
import os.path as osp

import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import evaluate, toy_config, train
from toy_runs import SIZE, short


def test_sfda_beats_source_only(toy_root, toy_source, toy_adabn, tmp_path):
    source_ckpt, source = toy_source
    torch.manual_seed(0)
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
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          f"SFDA {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 1.0
