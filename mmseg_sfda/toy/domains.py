"""Render the toy domains into the real datasets' layouts (``tools/make_toy_domains.py``).

Each image is seeded from (seed, domain, index), so the output does not depend on
``nproc``; a re-run skips files that exist. ``<out>/toy_domains.json`` records the seed,
size and shift; a run into a folder made with other ones stops (no mix of two toy sets).
"""
import json
import os
import sys
import time
from collections import Counter
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2

from mmseg_sfda.utils.bad_input import BadInputError
from .layouts import (LAYOUTS, NTHU_CITIES, ToyItem, is_gta5_mismatch, item_files,
                      layout_style, write_item)
from .scenes import render, scene_rng


class ToyDomainSpec(NamedTuple):
    """What to render: output root, seed, image size, counts, shift, layouts, cities."""
    out: str = 'data/toy'
    seed: int = 0
    height: int = 128
    width: int = 256
    num_source: int = 400
    num_target_train: int = 400
    num_target_val: int = 100
    shift: float = 1.0
    layouts: Sequence[str] = LAYOUTS
    cities: Sequence[str] = ('Rome', )


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


def make_tasks(spec: ToyDomainSpec) -> List[Task]:
    """Every image of every requested layout, in a fixed order."""
    tasks = []

    def add(layout: str, split: str, city: str, n: int) -> None:
        root = os.path.join(spec.out, layout)
        tasks.extend(Task(layout, root, split, city, i, spec.seed, spec.shift,
                          spec.height, spec.width) for i in range(n))
    for layout in spec.layouts:
        if layout in ('gta5', 'synthia'):
            add(layout, 'train', '', spec.num_source)
        elif layout == 'cityscapes':
            add(layout, 'train', '', spec.num_target_train)
            add(layout, 'val', '', spec.num_target_val)
        else:
            for city in spec.cities:
                add(layout, 'train', city, spec.num_target_train)
                add(layout, 'test', city, spec.num_target_val)
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


def summarize(spec: ToyDomainSpec, tasks: Sequence[Task],
              results: Sequence[Tuple[str, str]], seconds: float) -> str:
    counts = Counter(results)
    lines = [f'toy domains in {spec.out} (seed {spec.seed}, shift {spec.shift}, '
             f'{spec.height}x{spec.width}), {seconds:.1f}s:']
    for layout in spec.layouts:
        w, s = counts[(layout, 'written')], counts[(layout, 'skipped')]
        extra = ''
        if layout == 'gta5':
            bad = [t.index + 1 for t in tasks
                   if t.layout == 'gta5' and is_gta5_mismatch(t.index)]
            if bad:
                extra = (f'; {len(bad)} labels a few px smaller than their '
                         f'image (e.g. labels/{bad[0]:05d}.png)')
        elif layout == 'nthu':
            extra = f'; cities {" ".join(spec.cities)}'
        lines.append(f'  {layout:<10} {os.path.join(spec.out, layout)}: '
                     f'{w} written, {s} skipped{extra}')
    return '\n'.join(lines)


MANIFEST = 'toy_domains.json'


def settings(spec: ToyDomainSpec) -> dict:
    """What the images depend on (the counts only say how many there are)."""
    return dict(seed=spec.seed, height=spec.height, width=spec.width, shift=spec.shift)


def check_out_dir(spec: ToyDomainSpec, tasks: Sequence[Task]) -> Optional[str]:
    """A message when ``spec.out`` holds toy images made with other settings; else
    record this run's settings there."""
    path = os.path.join(spec.out, MANIFEST)
    wanted = settings(spec)
    if os.path.isfile(path):
        with open(path) as f:
            made = json.load(f)
        if made != wanted:
            return (f'{spec.out} holds toy domains made with {made} ({path}); this run '
                    f'asks for {wanted}. Mixing them would give a data set of two kinds: '
                    'give another --out, or delete the folder to remake it.')
    else:  # made before the manifest existed: compare the size of an image
        for task in tasks:
            image = item_files(task.layout, task.root, task.split, task.index,
                               task.city)['image']
            if os.path.exists(image):
                img = cv2.imread(image, cv2.IMREAD_UNCHANGED)
                if img is not None and img.shape[:2] != (spec.height, spec.width):
                    return (f'{spec.out} holds toy images of {img.shape[0]}x'
                            f'{img.shape[1]} (e.g. {image}); this run asks for '
                            f'{spec.height}x{spec.width}. Give another --out, or '
                            'delete the folder to remake it.')
                break
    if os.path.isfile(path):
        return None  # already recorded
    os.makedirs(spec.out, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(wanted, f)
    os.replace(tmp, path)
    return None


def make_toy_domains(spec: ToyDomainSpec, nproc: int = 1) -> str:
    """Render every missing image of ``spec``; return the summary.

    Raises:
        BadInputError: ``spec.out`` holds toy images made with other settings.
    """
    unknown = [c for c in spec.cities if c not in NTHU_CITIES]
    if unknown:
        raise BadInputError(f'unknown NTHU cities {unknown}: choose from {NTHU_CITIES}')
    tasks = make_tasks(spec)
    problem = check_out_dir(spec, tasks)
    if problem is not None:
        raise BadInputError(problem)
    t0 = time.time()
    results = run(tasks, nproc)
    return summarize(spec, tasks, results, time.time() - t0)
