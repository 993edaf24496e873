"""DAS3 stage c (after stages a and b) raises target mIoU over the source-only model on
the small toy benchmark (seed 0); a reduced `python tools/demo.py --method das3`."""
import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import evaluate, toy_config, train
from toy_runs import SIZE, short

STAGES = ('a', 'b', 'c')


def test_das3_stages_beat_source_only(toy_root, toy_source, toy_adabn, tmp_path):
    ckpt, source = toy_source
    results = {}
    for stage in STAGES:
        torch.manual_seed(0)
        cfg = toy_config(
            f'configs/toy/das3-{stage}_deeplabv3_r18_toy-gta2cs.py', toy_root,
            dict(short(20), **{
                'model.source_checkpoint': ckpt,
                'model.segmentor.data_preprocessor.size': SIZE,
            }))
        ckpt = train(cfg, str(tmp_path / stage))
        results[stage] = evaluate(cfg, ckpt, str(tmp_path / 'eval'))['mIoU13']
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, DAS3 " +
          ' '.join(f'{s}: {v:.2f}' for s, v in results.items()))
    assert results['c'] > source['mIoU13'] + 1.0
