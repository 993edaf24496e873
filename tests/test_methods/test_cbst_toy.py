"""CBST raises target mIoU over the source-only model on the small toy benchmark (seed 0).

A reduced version of `python tools/demo.py --method cbst`: two rounds of pseudo labels
(portion 20%, then 25%) of 15 iterations each.
"""
import os.path as osp

import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import evaluate, toy_config, train
from mmseg_sfda.utils.pseudo_label_io import read_json
from toy_runs import SIZE, short


def test_cbst_beats_source_only(toy_root, toy_source, toy_adabn, tmp_path):
    source_ckpt, source = toy_source
    torch.manual_seed(0)
    cfg = toy_config(
        'configs/toy/cbst_deeplabv3_r18_toy-gta2cs.py', toy_root,
        dict(short(30), **{
            'model.source_checkpoint': source_ckpt,
            'model.segmentor.data_preprocessor.size': SIZE,
        }))
    cfg.custom_hooks[0].update(round_iters=15, max_rounds=2)
    work = tmp_path / 'cbst'
    ckpt = train(cfg, str(work))
    stats = [read_json(osp.join(work, 'pseudo_labels', f'round_{r}', 'class_stats.json'))
             for r in range(2)]
    assert [round(s['kept_total'], 2) for s in stats] == [0.2, 0.25]
    adapted = evaluate(cfg, ckpt, str(tmp_path / 'eval'))
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          f"CBST {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 1.0
