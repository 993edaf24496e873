"""Train a segmentor (source-only or an adaptation method) with mmengine's runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--cfg-options k=v ...]

The arguments are mmsegmentation's own; ``--launcher pytorch`` runs distributed.
"""
import argparse
import os

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_sfda.apis import (check_inputs, enable_amp, finish_distributed,
                             init_cpu_distributed, load_config)
from mmseg_sfda.apis.input_checks import (CfgOptionsAction, add_label_check,
                                          check_run, exit_on_bad_input)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', action='store_true', default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic-mixed-precision training (GPU only)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = None
    with exit_on_bad_input(prefix=f'{args.config}: '):
        cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    with exit_on_bad_input(cfg, prefix=f'{args.config}: '):
        if args.amp:
            enable_amp(cfg)
        cfg.resume = args.resume
        check_inputs(cfg)
        check_run(cfg)
        add_label_check(cfg)
        init_cpu_distributed(cfg)
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
