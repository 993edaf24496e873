"""Write ``image | label overlay`` pictures of a config's dataset.

Replaces mmseg 1.2.2's ``tools/misc/browse_dataset.py``, which crashes with
OpenCV >= 4.8 (mmsegmentation#3405: a non-contiguous image reaches
``cv2.rectangle``).

Example::

    python tools/browse_dataset.py CONFIG --output-dir work_dirs/browse \
        --split train --num 8 --not-show
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np
from mmengine import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from mmseg.registry import DATASETS
from mmseg.visualization import SegLocalVisualizer

import mmseg_sfda  # noqa: F401  (registers our datasets and transforms)
from mmseg_sfda.visualization.sample_pictures import iter_packed, make_sample_picture


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Browse a dataset: image | label overlay pictures')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', default=None,
                        help='folder to write the PNG pictures to')
    parser.add_argument('--split', choices=('train', 'val', 'test'),
                        default='train',
                        help='which <split>_dataloader.dataset to browse')
    parser.add_argument('--num', type=int, default=None,
                        help='number of samples (default: all)')
    parser.add_argument('--not-show', action='store_true',
                        help='do not open a window for each picture')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds each picture is shown')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs (see mmengine)')
    return parser.parse_args(argv)


def build_dataset(cfg: Config, split: str):
    """Build ``cfg.<split>_dataloader.dataset`` in the mmseg scope."""
    key = f'{split}_dataloader'
    if cfg.get(key) is None:
        raise KeyError(f'the config has no {key}; choose --split from the '
                       'dataloaders it defines')
    return DATASETS.build(cfg[key].dataset)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.output_dir is None and args.not_show:
        print('error: nothing to do: give --output-dir or drop --not-show',
              file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmseg')

    dataset = build_dataset(cfg, args.split)
    meta = dataset.metainfo  # DomainPairDataset: the source's metainfo
    visualizer = SegLocalVisualizer.get_instance('browse_dataset')
    if args.output_dir is not None:
        os.makedirs(args.output_dir, exist_ok=True)

    num = len(dataset) if args.num is None else min(args.num, len(dataset))
    progress = ProgressBar(num)
    for idx in range(num):
        for domain, sample in iter_packed(dataset[idx]):
            picture = make_sample_picture(sample, meta, visualizer)
            img_path = sample['data_samples'].img_path
            stem = osp.splitext(osp.basename(img_path))[0]
            name = f'{idx:05d}_{domain + "_" if domain else ""}{stem}.png'
            if args.output_dir is not None:
                out = osp.join(args.output_dir, name)
                if not cv2.imwrite(out, np.ascontiguousarray(
                        picture[..., ::-1])):
                    raise OSError(f'could not write {out}')
            if not args.not_show:
                visualizer.show(
                    picture, win_name=name, wait_time=args.show_interval)
        progress.update()
    return 0


if __name__ == '__main__':
    sys.exit(main())
