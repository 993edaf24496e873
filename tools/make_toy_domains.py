"""Generate the toy domain-shift benchmark in the real datasets' layouts.

Example::

    python tools/make_toy_domains.py --out data/toy --seed 0 \\
        --height 128 --width 256 --num-source 400 --num-target-train 400 \\
        --num-target-val 100 --shift 1.0 --layouts gta5 synthia cityscapes nthu

Writes ``<out>/gta5`` and ``<out>/synthia`` (source look) and
``<out>/cityscapes`` and ``<out>/nthu`` (target look). Each image is seeded
from (seed, domain, index), so the output does not depend on ``--nproc``;
a re-run skips files that exist. ``<out>/toy_domains.json`` records the seed, size and
shift; a run into a folder made with other ones stops (no mix of two toy sets).
"""
import argparse
import json
import os
import sys
import time
from collections import Counter
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2

from mmseg_sfda.utils.toy_layouts import (LAYOUTS, NTHU_CITIES, ToyItem,
                                          is_gta5_mismatch, item_files,
                                          layout_style, write_item)
from mmseg_sfda.utils.toy_scenes import render, scene_rng


class Task(NamedTuple):
    """One image to make: layout, split, city, index and the render settings."""
    layout: str
    root: str
    split: str
    city: str
    index: int
    seed: int
    shift: float
    height: int
    width: int


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Render the toy source (GTA5 / SYNTHIA layouts) and target '
        '(Cityscapes / NTHU layouts) street-scene domains.')
    p.add_argument('--out', default='data/toy', help='output root')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--height', type=int, default=128)
    p.add_argument('--width', type=int, default=256)
    p.add_argument('--num-source', type=int, default=400,
                   help='images in each source layout (GTA5, SYNTHIA)')
    p.add_argument('--num-target-train', type=int, default=400,
                   help='Cityscapes train images; NTHU Train images per city')
    p.add_argument('--num-target-val', type=int, default=100,
                   help='Cityscapes val images; NTHU Test images per city')
    p.add_argument('--shift', type=float, default=1.0,
                   help='domain gap: 0 target looks like source, 1 default')
    p.add_argument('--layouts', nargs='+', choices=LAYOUTS, default=list(LAYOUTS))
    p.add_argument('--cities', nargs='+', choices=NTHU_CITIES, default=['Rome'],
                   help='NTHU cities')
    p.add_argument('--nproc', type=int, default=2, help='worker processes')
    return p.parse_args(argv)


def make_tasks(args: argparse.Namespace) -> List[Task]:
    """Every image of every requested layout, in a fixed order."""
    tasks = []

    def add(layout: str, split: str, city: str, n: int) -> None:
        root = os.path.join(args.out, layout)
        tasks.extend(Task(layout, root, split, city, i, args.seed, args.shift,
                          args.height, args.width) for i in range(n))
    for layout in args.layouts:
        if layout in ('gta5', 'synthia'):
            add(layout, 'train', '', args.num_source)
        elif layout == 'cityscapes':
            add(layout, 'train', '', args.num_target_train)
            add(layout, 'val', '', args.num_target_val)
        else:
            for city in args.cities:
                add(layout, 'train', city, args.num_target_train)
                add(layout, 'test', city, args.num_target_val)
    return tasks


def domain_key(task: Task) -> str:
    """Seed stream of a task: independent across layouts, splits and cities."""
    return '/'.join(x for x in (task.layout, task.city, task.split) if x)


def run_task(task: Task) -> Tuple[str, str]:
    """Render and write one image unless all its files exist.

    Returns (layout, 'written' | 'skipped')."""
    files = item_files(task.layout, task.root, task.split, task.index, task.city)
    if all(os.path.exists(p) for p in files.values()):
        return task.layout, 'skipped'
    style = layout_style(task.layout, task.shift, task.city)
    rng = scene_rng(task.seed, domain_key(task), task.index)
    scene = render(rng, style, task.height, task.width)
    item = ToyItem(task.index, scene.rgb, scene.label, scene.instance,
                   task.split, task.city)
    write_item(task.layout, task.root, item, overwrite=False)
    return task.layout, 'written'


def run(tasks: Sequence[Task], nproc: int) -> List[Tuple[str, str]]:
    """Run tasks with a progress bar, in ``nproc`` forked processes when > 1.

    OpenCV is set to one thread in the parent before forking (and restored):
    calling ``cv2.setNumThreads`` inside a forked worker can deadlock."""
    from mmengine.utils import track_parallel_progress, track_progress
    if not tasks:
        return []
    if nproc <= 1:
        return track_progress(run_task, list(tasks), file=sys.stdout)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return track_parallel_progress(
            run_task, list(tasks), nproc,
            chunksize=max(1, min(16, len(tasks) // (4 * nproc))), file=sys.stdout)
    finally:
        cv2.setNumThreads(threads)


def summarize(args: argparse.Namespace, tasks: Sequence[Task],
              results: Sequence[Tuple[str, str]], seconds: float) -> str:
    counts = Counter(results)
    lines = [f'toy domains in {args.out} (seed {args.seed}, shift {args.shift}, '
             f'{args.height}x{args.width}), {seconds:.1f}s:']
    for layout in args.layouts:
        w, s = counts[(layout, 'written')], counts[(layout, 'skipped')]
        extra = ''
        if layout == 'gta5':
            bad = [t.index + 1 for t in tasks
                   if t.layout == 'gta5' and is_gta5_mismatch(t.index)]
            if bad:
                extra = (f'; {len(bad)} labels a few px smaller than their '
                         f'image (e.g. labels/{bad[0]:05d}.png)')
        elif layout == 'nthu':
            extra = f'; cities {" ".join(args.cities)}'
        lines.append(f'  {layout:<10} {os.path.join(args.out, layout)}: '
                     f'{w} written, {s} skipped{extra}')
    return '\n'.join(lines)


MANIFEST = 'toy_domains.json'


def settings(args: argparse.Namespace) -> dict:
    """What the images depend on (the counts only say how many there are)."""
    return dict(seed=args.seed, height=args.height, width=args.width, shift=args.shift)


def check_out_dir(args: argparse.Namespace, tasks: Sequence[Task]) -> Optional[str]:
    """A message when ``args.out`` holds toy images made with other settings; else
    record this run's settings there."""
    path = os.path.join(args.out, MANIFEST)
    wanted = settings(args)
    if os.path.isfile(path):
        with open(path) as f:
            made = json.load(f)
        if made != wanted:
            return (f'{args.out} holds toy domains made with {made} ({path}); this run '
                    f'asks for {wanted}. Mixing them would give a data set of two kinds: '
                    'give another --out, or delete the folder to remake it.')
    else:  # made before the manifest existed: compare the size of an image
        for task in tasks:
            image = item_files(task.layout, task.root, task.split, task.index,
                               task.city)['image']
            if os.path.exists(image):
                img = cv2.imread(image, cv2.IMREAD_UNCHANGED)
                if img is not None and img.shape[:2] != (args.height, args.width):
                    return (f'{args.out} holds toy images of {img.shape[0]}x'
                            f'{img.shape[1]} (e.g. {image}); this run asks for '
                            f'{args.height}x{args.width}. Give another --out, or '
                            'delete the folder to remake it.')
                break
    if os.path.isfile(path):
        return None  # already recorded
    os.makedirs(args.out, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(wanted, f)
    os.replace(tmp, path)
    return None


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    tasks = make_tasks(args)
    problem = check_out_dir(args, tasks)
    if problem is not None:
        print(f'make_toy_domains: {problem}', file=sys.stderr)
        return 2
    t0 = time.time()
    results = run(tasks, args.nproc)
    print()
    print(summarize(args, tasks, results, time.time() - t0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
