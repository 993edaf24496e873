"""PseudoLabelHook against plain mmseg inference: speed, and memory as the set grows.

    python tools/benchmarks/pseudo_label_hook.py [--images 40] [--growth 10]

Requirements: pseudo-label generation runs at 0.9x or more of plain mmseg inference on
the same images, and peak RSS grows by less than 5% when the target set grows 10x.

Speed, in one process, interleaved (a, b, a, b, ...) so that machine load hits both:
(a) plain inference: ``segmentor.test_step`` over the labelling loader, outputs dropped;
(b) one pseudo-labelling round of the hook over the same loader (inference, score files,
    histograms, thresholds, label files). It prints ``(a) / (b)`` (throughput of (b)
    relative to (a)) against 0.95.
Memory: a fresh process per set size labels ``--images`` and ``growth x --images``
images and reports its peak RSS after loading the model and after labelling.

Random images (structure does not change the cost) and a freshly initialised toy
DeepLabV3-R18; results go to a JSON file (``--out``). The exit code is 0 whatever the
verdict: this is a report, not a test.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg_sfda.utils.pseudo_label_io import write_json_atomic

CONFIG = 'configs/toy/cbst_deeplabv3_r18_toy-gta2cs.py'
SPEED_THRESHOLD = 0.95
MEMORY_THRESHOLD = 1.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=40, help='target images (speed, '
                        'and the small set of the memory check)')
    parser.add_argument('--growth', type=int, default=10, help='size of the large set '
                        'of the memory check, in multiples of --images')
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3, help='timed (a, b) pairs')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--out', default='work_dirs/benchmarks/pseudo_label_hook.json')
    parser.add_argument('--memory-child', nargs=2, metavar=('ROOT', 'WORK'),
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def make_images(root: str, num: int, height: int, width: int) -> str:
    """``num`` random images in the Cityscapes layout under ``root``."""
    folder = osp.join(root, 'leftImg8bit', 'train', 'bench')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(num):
        cv2.imwrite(osp.join(folder, f'bench_000000_{i:06d}_leftImg8bit.png'),
                    rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    return root


def build_runner(root: str, work_dir: str, args: argparse.Namespace) -> Runner:
    """A runner around the toy CBST config whose hook labels the images in ``root``."""
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.source_checkpoint = None
    cfg.model.segmentor.data_preprocessor.size = (args.height, args.width)
    loader = dict(batch_size=args.batch_size, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(type='CityscapesDataset', data_root=root,
                               data_prefix=dict(img_path='leftImg8bit/train'),
                               pipeline=[dict(type='LoadImageFromFile'),
                                         dict(type='PackSegInputs')]))
    cfg.custom_hooks[0].update(dataloader=loader, num_vis=0)
    # the training set only receives the labels: the target images themselves
    cfg.train_dataloader = dict(
        batch_size=1, num_workers=0, sampler=dict(type='InfiniteSampler'),
        dataset=dict(loader['dataset'], pipeline=[
            dict(type='LoadImageFromFile'), dict(type='LoadPseudoLabel'),
            dict(type='PackSegInputs')]))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'PseudoLabelHook')
    hook.out_dir = osp.join(work_dir, 'pseudo_labels')
    hook.round_iters = 1
    return runner


def hook_of(runner: Runner):
    return next(h for h in runner.hooks if type(h).__name__ == 'PseudoLabelHook')


def plain_inference(runner: Runner) -> None:
    """What mmseg's test loop does per batch, minus the metric: ``test_step``."""
    model = runner.model.segmentor
    model.eval()
    with torch.no_grad():
        for batch in hook_of(runner)._build_loader(runner):
            model.test_step(batch)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(args: argparse.Namespace, tmp: str) -> Dict[str, object]:
    root = make_images(osp.join(tmp, 'speed'), args.images, args.height, args.width)
    runner = build_runner(root, osp.join(tmp, 'speed_work'), args)
    hook = hook_of(runner)
    plain: List[float] = []
    labelling: List[float] = []
    for r in range(args.repeats + 1):  # the first pair warms up
        a = timed(lambda: plain_inference(runner))
        b = timed(lambda: hook.label_round(runner, r))  # a new round each time
        if r:
            plain.append(a)
            labelling.append(b)
    ratio = statistics.median(plain) / statistics.median(labelling)
    return dict(images=args.images, plain_s=plain, labelling_s=labelling,
                throughput_ratio=ratio, threshold=SPEED_THRESHOLD,
                verdict='PASS' if ratio >= SPEED_THRESHOLD else 'FAIL')


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(root: str, work: str, args: argparse.Namespace) -> None:
    """In a fresh process: label ``root`` once; print peak RSS before and after."""
    runner = build_runner(root, work, args)
    hook_of(runner)._build_loader(runner)
    before = peak_rss_mb()
    hook_of(runner).label_round(runner, 0)
    print(json.dumps(dict(before_mb=before, after_mb=peak_rss_mb())))


def memory(args: argparse.Namespace, tmp: str) -> Dict[str, object]:
    results = {}
    for num in (args.images, args.images * args.growth):
        root = make_images(osp.join(tmp, f'mem{num}'), num, args.height, args.width)
        cmd = [sys.executable, __file__, '--memory-child', root, osp.join(tmp, f'w{num}'),
               '--height', str(args.height), '--width', str(args.width),
               '--batch-size', str(args.batch_size)]
        if args.threads:
            cmd += ['--threads', str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        # the child's JSON record (a progress bar may share its line)
        record = out[out.rindex('{"before_mb"'):].splitlines()[0]
        results[num] = json.loads(record)
    small, large = (results[n]['after_mb'] for n in sorted(results))
    growth = large / small
    return dict(peak_rss_mb={str(k): v for k, v in results.items()}, growth=growth,
                threshold=MEMORY_THRESHOLD,
                verdict='PASS' if growth < MEMORY_THRESHOLD else 'FAIL')


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(*args.memory_child, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        report = dict(speed=speed(args, tmp), memory=memory(args, tmp),
                      torch_threads=torch.get_num_threads(),
                      size=[args.height, args.width], batch_size=args.batch_size)
    s, m = report['speed'], report['memory']
    print(f"speed: plain inference {statistics.median(s['plain_s']):.2f} s, "
          f"pseudo labelling {statistics.median(s['labelling_s']):.2f} s for "
          f"{s['images']} images: ratio {s['throughput_ratio']:.3f} "
          f"(>= {SPEED_THRESHOLD}) {s['verdict']}")
    print(f"memory: peak RSS {m['peak_rss_mb']} MB, growth x{m['growth']:.3f} for "
          f"{args.growth}x the images (< {MEMORY_THRESHOLD}) {m['verdict']}")
    write_json_atomic(args.out, report)
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
