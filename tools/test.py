"""Test (and evaluate) a segmentor; the arguments are mmsegmentation's own.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--out DIR]
"""
import argparse
import os
import os.path as osp

from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_sfda.apis import finish_distributed, init_cpu_distributed, load_config
from mmseg_sfda.apis.input_checks import CfgOptionsAction, check_run, exit_on_bad_input
from mmseg_sfda.utils.bad_input import MissingInputError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results')
    parser.add_argument('--out', help='dir to save raw predictions (offline eval)')
    parser.add_argument('--show', action='store_true', help='show predictions')
    parser.add_argument('--show-dir', help='dir to save painted predictions')
    parser.add_argument('--wait-time', type=float, default=2, help='show interval (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, e.g. test_dataloader.batch_size=1')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg, args: argparse.Namespace) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise KeyError('--show/--show-dir need default_hooks.visualization '
                       "(dict(type='SegVisualizationHook')) in the config")
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir


def main() -> None:
    args = parse_args()
    cfg = None
    with exit_on_bad_input(prefix=f'{args.config}: '):
        if not osp.isfile(args.checkpoint):
            raise MissingInputError(f'checkpoint not found: {args.checkpoint}')
        cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    with exit_on_bad_input(cfg, prefix=f'{args.config}: '):
        check_run(cfg, loaders=('test_dataloader', ))
        cfg.load_from = args.checkpoint
        if args.show or args.show_dir:
            enable_visualization(cfg, args)
        if args.tta:
            cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
            cfg.tta_model.module = cfg.model
            cfg.model = cfg.tta_model
        if args.out is not None:
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True
        init_cpu_distributed(cfg)
        Runner.from_cfg(cfg).test()
    finish_distributed()


if __name__ == '__main__':
    main()
