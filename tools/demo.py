"""The toy domain-shift benchmark end to end, on a CPU, in a few minutes.

    python tools/demo.py                 # source-only (+ chance and AdaBN baselines)
    python tools/demo.py --method sfda   # ... then source-free adaptation with SFDA
    python tools/demo.py --method adaptseg  # ... or UDA with AdaptSegNet (advent: AdvEnt)
    python tools/demo.py --method cbst   # ... or class-balanced self-training
    python tools/demo.py --method das3   # ... or DAS3, stages a, b and c in turn
    python tools/demo.py --method pixintrada  # ... AdaptSegNet, then PixIntraDA
    python tools/demo.py --method sim    # ... or SIM, step 1 then step 2

Makes the toy domains (``tools/make_toy_domains.py``), converts the source labels, trains
the small source model through mmengine's runner, scores it on the target val set with
the class-subset metric, prints a table and writes ``<work-dir>/demo_<method>.png``
(image | ground truth | predictions). Every stage resumes: a second run reuses what exists.
Each ``--seed`` has its own folders (``data/toy_seed1``, ``work_dirs/demo_seed1``); a
checkpoint or toy set made with another seed is never reused.
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
from prettytable import PrettyTable

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import (build_test_runner, evaluate, evaluate_random,
                             iter_predictions, prepare_toy_data, toy_config, train_segmentor)
from mmseg_sfda.apis.toy_benchmark import TOY_METHODS, stage_name, toy_adabn_loader
from mmseg_sfda.utils.class_maps import CITYSCAPES_PALETTE
from mmseg_sfda.visualization.prediction_grid import colorize, make_grid, save_rgb

SOURCE_CFG = 'configs/toy/deeplabv3_r18_toy-gta5_source.py'
#: every method's configs, chained by checkpoint (PixIntraDA after its AdaptSegNet model)
METHOD_CFGS = {
    name: (TOY_METHODS[m.before].stages if m.before else ()) + m.stages
    for name, m in TOY_METHODS.items()
}
COLUMNS = ('mIoU', 'mIoU16', 'mIoU13', 'aAcc')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--method', choices=['source'] + sorted(METHOD_CFGS),
                        default='source')
    parser.add_argument('--data-root',
                        help='default data/toy (data/toy_seed{N} for --seed N != 0)')
    parser.add_argument('--work-dir',
                        help='default work_dirs/demo (work_dirs/demo_seed{N} for N != 0)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (1: the same numbers on any machine '
                        'and core count; two threads on two busy cores are slower)')
    parser.add_argument('--seed', type=int, default=0,
                        help='data, models and training draws; each seed has its folders')
    parser.add_argument('--num-vis', type=int, default=4, help='rows in the picture')
    parser.add_argument('--source-iters', type=int, help='override the source schedule')
    parser.add_argument('--adapt-iters', type=int, help='override the method schedule')
    args = parser.parse_args(argv)
    suffix = '' if args.seed == 0 else f'_seed{args.seed}'
    args.data_root = args.data_root or f'data/toy{suffix}'
    args.work_dir = args.work_dir or f'work_dirs/demo{suffix}'
    return args


def print_table(results: Dict[str, Dict[str, float]]) -> None:
    table = PrettyTable(['target val'] + list(COLUMNS))
    for name, metrics in results.items():
        table.add_row([name] + [f'{metrics.get(c, float("nan")):.2f}' for c in COLUMNS])
    print(table)


def prediction_picture(runners: Dict[str, object], num: int) -> np.ndarray:
    """Rows of image | ground truth | one prediction per model, on the same images."""
    streams = {name: iter_predictions(runner, num) for name, runner in runners.items()}
    rows: List[Dict[str, np.ndarray]] = []
    for per_model in zip(*streams.values()):
        image, gt = per_model[0][0], per_model[0][1]
        row = {'image': image, 'ground truth': colorize(gt, CITYSCAPES_PALETTE)}
        for name, (_, _, pred) in zip(streams, per_model):
            row[name] = colorize(pred, CITYSCAPES_PALETTE)
        rows.append(row)
    return make_grid(rows)


@torch.no_grad()
def fake_sample_picture(model, num: int) -> np.ndarray:
    """SFDA's generated images beside the frozen source model's predictions on them."""
    model.eval()
    fake = model.generator.sample(num)
    logits = model.source_model._forward(fake)
    logits = torch.nn.functional.interpolate(logits, size=fake.shape[-2:],
                                             mode='bilinear', align_corners=False)
    pre = model.data_preprocessor
    images = (fake * pre.std + pre.mean).clamp(0, 255).byte()  # back to RGB pixels
    rows = []
    for image, pred in zip(images, logits.argmax(1)):
        tiles = {'fake image': image.permute(1, 2, 0).numpy(),
                 'source model on it': colorize(pred.numpy(), CITYSCAPES_PALETTE)}
        # the fakes are half the target size: show them at the size of the target tiles
        rows.append({name: cv2.resize(tile, None, fx=2, fy=2,
                                      interpolation=cv2.INTER_NEAREST)
                     for name, tile in tiles.items()})
    return make_grid(rows)


def schedule(iters, seed: int) -> dict:
    """Config overrides for the seed and, optionally, a shorter or longer schedule."""
    options = {'randomness.seed': seed, 'randomness.deterministic': True}
    if iters:
        options.update({'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
                        'default_hooks.checkpoint.interval': iters})
    return options


def adapt(args: argparse.Namespace, source_ckpt: str) -> Dict[str, object]:
    """Run the method's stage(s) from the source model; a test runner per stage."""
    stages = METHOD_CFGS[args.method]
    runners = {}
    ckpt = source_ckpt
    for path in stages:
        cfg = toy_config(path, args.data_root,
                         dict(schedule(args.adapt_iters, args.seed),
                              **{'model.source_checkpoint': ckpt}))
        stage = stage_name(path)
        name = args.method if len(stages) == 1 else f'{args.method}-{stage}'
        ckpt = train_segmentor(cfg, osp.join(args.work_dir, name))
        label = args.method.upper() if len(stages) == 1 else \
            f'{args.method.upper()} ({stage})'
        runners[label] = build_test_runner(cfg, ckpt, osp.join(args.work_dir, 'eval'))
    return runners


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    prepare_toy_data(args.data_root, seed=args.seed)
    work_dir = args.work_dir
    source_cfg = toy_config(SOURCE_CFG, args.data_root,
                            schedule(args.source_iters, args.seed))
    source_ckpt = train_segmentor(source_cfg, osp.join(work_dir, 'source'))

    results = {'chance (uniform random)': evaluate_random(source_cfg, args.seed)}
    runners = {
        'source-only': build_test_runner(source_cfg, source_ckpt, osp.join(work_dir, 'eval')),
        'AdaBN': build_test_runner(source_cfg, source_ckpt, osp.join(work_dir, 'eval'),
                                   adabn_dataloader=toy_adabn_loader(args.data_root)),
    }
    if args.method != 'source':
        runners.update(adapt(args, source_ckpt))
    for name, runner in runners.items():
        results[name] = runner.test()
    print_table(results)
    with open(osp.join(work_dir, f'demo_{args.method}.json'), 'w') as f:
        json.dump(results, f, indent=2)
    picture = osp.join(work_dir, f'demo_{args.method}.png')
    save_rgb(picture, prediction_picture(runners, args.num_vis))
    print(f'predictions on target val images: {picture}')
    if args.method == 'sfda':
        fake = osp.join(work_dir, 'demo_sfda_fake_samples.png')
        save_rgb(fake, fake_sample_picture(runners['SFDA'].model, args.num_vis))
        print(f'generated fake samples and the source model on them: {fake}')


if __name__ == '__main__':
    main()
