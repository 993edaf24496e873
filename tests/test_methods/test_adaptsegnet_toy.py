"""AdaptSegNet raises target mIoU on a small toy benchmark (seed 0), and its adversarial
term is what lifts it above the same run with lambda_adv = 0.

A reduced version of `python tools/demo.py --method adaptseg` (64x128 images, short
schedules). Adapting with source labels also trains on more source batches and lets the
target images into the BatchNorm statistics, both of which alone raise target mIoU on
this toy (see docs/toy_benchmark.md on AdaBN); so the adapted model is compared with the
source-only model *and* with the identical run whose adversarial weight is 0.

Measured (mIoU13, 80 source iterations, then 20 adaptation iterations with seed 0 / 1 / 2):
source-only 7.11; lambda_adv = 0 control 10.77 / 8.54 / 10.62; AdaptSegNet (lambda_adv
0.2) 12.42 / 10.72 / 10.95. The adversarial gain over the control is consistent but small
and seed-dependent (+1.65 / +2.18 / +0.33), so the test asks only that it be positive: a
broken adversarial path gives exactly the control's weights, and fails it.
"""
import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import evaluate, toy_config, train
from toy_runs import SIZE, short

ADAPT_ITERS = 20
CFG = 'configs/toy/adaptsegnet_deeplabv3_r18_toy-gta2cs.py'


def test_adaptsegnet_beats_source_only_and_its_lambda0_control(
        toy_root, toy_source, toy_adabn, toy_adaptsegnet, tmp_path):
    source_ckpt, source = toy_source
    _, adapted = toy_adaptsegnet  # lambda_adv 0.2, ADAPT_ITERS iterations (conftest.py)
    torch.manual_seed(0)
    cfg = toy_config(CFG, toy_root, dict(short(ADAPT_ITERS), **{
        'model.source_checkpoint': source_ckpt,
        'model.segmentor.data_preprocessor.size': SIZE, 'model.lambda_adv_main': 0.}))
    control = evaluate(cfg, train(cfg, str(tmp_path / 'control')), str(tmp_path / 'eval'))
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          f"lambda_adv=0 control {control['mIoU13']:.2f}, "
          f"AdaptSegNet {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 3.0
    assert adapted['mIoU13'] > control['mIoU13']
