"""Every method against source-only, AdaBN and its own controls, over seeds, on the toy.

    python tools/benchmarks/toy_methods.py --seeds 0 1 2 --threads 1 --jobs 16 \\
        --out work_dirs/bench_toy/shift1.json

Per seed: the toy data (drawn with that seed), one source model shared by every method,
source-only, AdaBN (BatchNorm statistics re-estimated on the target training images, no
gradient) and the oracle (trained on target labels); then each method and its controls,
``lr0`` (segmentor learning rate 0, same BatchNorm policy: what the statistics alone
give) and ``term_off`` (its distinctive term switched off, see
``mmseg_sfda.apis.toy_benchmark.TOY_METHODS``). Prints and writes (JSON and Markdown)
mean +- std over seeds of mIoU (19 classes), mIoU13, method - AdaBN and the gap closed,
(method - source) / (oracle - source). The defaults are the method tests' size (64x128,
short schedules); every run is deterministic (one thread, seeded, no loader workers), so
``--jobs N`` (N worker processes: each seed's data, then its source and oracle models,
then every (seed, method, variant) run) gives the numbers of ``--jobs 1``.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import statistics
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import partial
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmseg_sfda  # noqa: E402,F401
from mmseg_sfda.apis import (evaluate, prepare_toy_data, toy_config,  # noqa: E402
                             train_segmentor)
from mmseg_sfda.apis.toy_benchmark import (TOY_METHODS, VARIANTS,  # noqa: E402
                                           run_toy_method, toy_adabn_loader)

SOURCE_CFG = 'configs/toy/deeplabv3_r18_toy-gta5_source.py'
ORACLE_CFG = 'configs/toy/deeplabv3_r18_toy-cityscapes_oracle.py'
Rows = Dict[str, Dict[str, float]]
Job = Tuple  # ('data' | 'source-only' | 'oracle', seed) or ('method', seed, name, variant)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--methods', nargs='+', choices=sorted(TOY_METHODS),
                   default=sorted(TOY_METHODS))
    p.add_argument('--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    p.add_argument('--shift', type=float, default=1.0, help='toy domain gap')
    p.add_argument('--height', type=int, default=64)
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--num-source', type=int, default=96)
    p.add_argument('--num-target-train', type=int, default=48)
    p.add_argument('--num-target-val', type=int, default=24)
    p.add_argument('--source-iters', type=int, default=120)
    p.add_argument('--adapt-iters', type=int, default=20)
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    p.add_argument('--jobs', type=int, default=1,
                   help='worker processes (each with --threads threads)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='cfg-options for every method stage, e.g. '
                   'model.bn_stats.init=target')
    p.add_argument('--work-dir', default='work_dirs/bench_toy')
    p.add_argument('--tag', default='default',
                   help='method runs go to <work-dir>/<data>/<tag>: one tag per '
                   '--cfg-options setting (finished runs are reused)')
    p.add_argument('--out', help='JSON path (a .md table is written beside it)')
    return p.parse_args()


def run_options(iters: int, seed: int) -> dict:
    return {
        'randomness.seed': seed, 'randomness.deterministic': True,
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
        'train_cfg.val_begin': iters + 1, 'default_hooks.checkpoint.interval': iters,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
    }


def seed_dirs(args: argparse.Namespace, seed: int) -> Tuple[str, str]:
    """(data root, work dir) of one seed; data, source and oracle are shared by every --tag."""
    tag = f'shift{args.shift:g}_{args.height}x{args.width}_seed{seed}'
    return osp.join(args.work_dir, 'data', tag), osp.join(args.work_dir, tag)


def run_job(args: argparse.Namespace, job: Job) -> Rows:
    """One job's rows (test metrics); the jobs it depends on have finished."""
    torch.set_num_threads(args.threads)
    seed = job[1]
    root, work = seed_dirs(args, seed)
    size = (args.height, args.width)
    torch.manual_seed(seed)
    if job[0] == 'data':
        prepare_toy_data(root, seed=seed, height=args.height, width=args.width,
                         shift=args.shift, num_source=args.num_source,
                         num_target_train=args.num_target_train,
                         num_target_val=args.num_target_val,
                         layouts=('gta5', 'cityscapes'))
        return {}
    if job[0] in ('source-only', 'oracle'):
        name = job[0]
        cfg = toy_config(SOURCE_CFG if name == 'source-only' else ORACLE_CFG, root,
                         run_options(args.source_iters, seed), size)
        ckpt = train_segmentor(cfg, osp.join(work, name))
        rows = {name: evaluate(cfg, ckpt, osp.join(work, 'eval'))}
        if name == 'source-only':
            rows['AdaBN'] = evaluate(cfg, ckpt, osp.join(work, 'eval'),
                                     adabn_dataloader=toy_adabn_loader(root))
        return rows
    _, _, method, variant = job
    options = dict(run_options(args.adapt_iters, seed), **args.cfg_options)
    _, metrics = run_toy_method(method, root, source_checkpoint(args, seed), osp.join(
        work, args.tag), options, variant, size=size)
    row = f'{method} ({variant})'
    print(f"[seed {seed}] {row}: mIoU13 {list(metrics.values())[-1]['mIoU13']:.2f}",
          flush=True)
    return {row: list(metrics.values())[-1]}


def source_checkpoint(args: argparse.Namespace, seed: int) -> str:
    return osp.join(seed_dirs(args, seed)[1], 'source-only',
                    f'iter_{args.source_iters}.pth')


def job_graph(args: argparse.Namespace) -> Dict[Job, List[Job]]:
    """Every job with the jobs it needs, in the order they start (longest methods first).

    A method that starts from another one's run (PixIntraDA from AdaptSegNet) waits for
    that run, which is then reused, so two processes never train the same folder.
    """
    graph: Dict[Job, List[Job]] = {}
    longest_first = sorted(args.methods, key=lambda m: -len(TOY_METHODS[m].stages) -
                           bool(TOY_METHODS[m].before))
    for seed in args.seeds:
        graph[('data', seed)] = []
        graph[('source-only', seed)] = [('data', seed)]
        graph[('oracle', seed)] = [('data', seed)]
    for seed in args.seeds:
        for method in longest_first:
            before = TOY_METHODS[method].before
            needs = [('source-only', seed)]
            if before:
                needs.append(('method', seed, before, 'method'))
                graph.setdefault(needs[-1], [('source-only', seed)])
            for variant in args.variants:
                graph.setdefault(('method', seed, method, variant), needs)
    return graph


def run_graph(graph: Dict[Job, List[Job]], fn: Callable[[Job], Rows], jobs: int
              ) -> Dict[Job, Rows]:
    """Run every job once its needs are done: in order in this process for ``jobs`` 1,
    else in ``jobs`` fresh worker processes."""
    if jobs == 1:
        return {job: fn(job) for job in graph}
    done: Dict[Job, Rows] = {}
    running: Dict[Future, Job] = {}
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context('spawn')
                             ) as pool:
        while len(done) < len(graph):
            for job, needs in graph.items():
                if (job not in done and job not in running.values() and
                        all(n in done for n in needs)):
                    running[pool.submit(fn, job)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done[running.pop(future)] = future.result()
    return done


def collect(args: argparse.Namespace, results: Dict[Job, Rows]) -> Dict[int, Rows]:
    """Per seed, every row in the serial run's order (rows of hidden prerequisites out)."""
    per_seed: Dict[int, Rows] = {}
    for seed in args.seeds:
        rows = dict(results[('source-only', seed)], **results[('oracle', seed)])
        for method in args.methods:
            for variant in args.variants:
                rows.update(results[('method', seed, method, variant)])
        per_seed[seed] = rows
    return per_seed


def summarise(per_seed: Dict[int, Rows]) -> List[dict]:
    """mean +- std over seeds per row: mIoU, mIoU13, - AdaBN, gap closed (mIoU13)."""
    names = list(next(iter(per_seed.values())))
    table = []
    for name in names:
        cols: Dict[str, List[float]] = {'mIoU': [], 'mIoU13': [], 'minus_adabn': [],
                                        'gap_closed': []}
        for rows in per_seed.values():
            m13, src, orc = (rows[name]['mIoU13'], rows['source-only']['mIoU13'],
                             rows['oracle']['mIoU13'])
            cols['mIoU'].append(rows[name]['mIoU'])
            cols['mIoU13'].append(m13)
            cols['minus_adabn'].append(m13 - rows['AdaBN']['mIoU13'])
            cols['gap_closed'].append(100 * (m13 - src) / max(orc - src, 1e-6))
        table.append({'row': name, **{
            k: (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.)
            for k, v in cols.items()}})
    return table


def markdown(table: List[dict], args: argparse.Namespace) -> str:
    head = (f'seeds {args.seeds}, shift {args.shift:g}, {args.height}x{args.width}, '
            f'source {args.source_iters} / adaptation {args.adapt_iters} iterations\n\n'
            '| run | mIoU (19) | mIoU13 | mIoU13 - AdaBN | gap closed (%) |\n'
            '|---|---|---|---|---|\n')
    fmt = '{0:.2f} ± {1:.2f}'.format
    return head + ''.join(
        f"| {r['row']} | {fmt(*r['mIoU'])} | {fmt(*r['mIoU13'])} | "
        f"{fmt(*r['minus_adabn'])} | {fmt(*r['gap_closed'])} |\n" for r in table)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    results = run_graph(job_graph(args), partial(run_job, args), args.jobs)
    per_seed = collect(args, results)
    table = summarise(per_seed)
    text = markdown(table, args)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({'args': vars(args), 'per_seed': per_seed, 'summary': table}, f,
                      indent=1)
        with open(osp.splitext(args.out)[0] + '.md', 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
