"""Compute CBST spatial priors (Sec. 4.4, Eq. 9) from source-domain labels.

Examples::

    # the source dataset of a config (train_dataloader.dataset, or its
    # ``source`` when it is a DomainPairDataset)
    python tools/compute_spatial_priors.py CONFIG --out priors/gta5.npz

    # every *_labelTrainIds.png under a folder (converted labels)
    python tools/compute_spatial_priors.py --label-dir data/gta5/labels \\
        --out priors/gta5.npz --size 1052 1914 --kernel-size 70
"""
import argparse
import copy
import glob
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

LABEL_SUFFIX = '_labelTrainIds.png'
WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmseg_sfda.apis.input_checks import CfgOptionsAction
    parser = argparse.ArgumentParser(
        description='Count per-pixel class frequencies of source labels, '
        'smooth them with a Gaussian and save CBST spatial priors (C, h, w).')
    parser.add_argument(
        'config', nargs='?',
        help='config whose train_dataloader.dataset (or its source, for a '
        'DomainPairDataset) lists the source labels')
    parser.add_argument(
        '--label-dir',
        help='instead of a config: every label file under this folder')
    parser.add_argument(
        '--suffix', default=LABEL_SUFFIX,
        help=f'label file suffix for --label-dir (default: {LABEL_SUFFIX})')
    parser.add_argument(
        '--num-classes', type=int, default=None,
        help='number of classes (default: from the config\'s classes; 19, '
        'the Cityscapes train IDs, with --label-dir)')
    parser.add_argument('--out', required=True,
                        help='output file, .npz (with metadata) or .npy')
    parser.add_argument(
        '--size', type=int, nargs=2, metavar=('H', 'W'),
        help='prior resolution (default: the first label\'s size)')
    parser.add_argument(
        '--kernel-size', type=int, default=70,
        help='Gaussian kernel side in pixels at --size (default: 70, the '
        'paper\'s, at full resolution); 1 disables smoothing')
    parser.add_argument(
        '--sigma', type=float, default=None,
        help='Gaussian sigma (default: OpenCV\'s for the kernel size)')
    parser.add_argument(
        '--normalize', choices=('class', 'pixel', 'none'), default='class',
        help='class: each class map sums to 1 (paper); pixel: classes sum to '
        '1 at each pixel; none: smoothed counts')
    parser.add_argument('--ignore-index', type=int, default=None,
                        help='label value not counted (default: 255, or the '
                        'dataset\'s ignore_index)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.source.data_root=data/gta5')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.label_dir is None):
        parser.error('give either CONFIG or --label-dir (exactly one)')
    return args


def labels_from_dir(label_dir: str, suffix: str) -> List[str]:
    """Sorted label files ending with ``suffix`` under ``label_dir``."""
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'--label-dir {label_dir} is not a folder')
    files = sorted(
        glob.glob(osp.join(label_dir, '**', f'*{suffix}'), recursive=True))
    if not files:
        raise FileNotFoundError(
            f'no *{suffix} files under {label_dir}; convert the labels first '
            '(tools/dataset_converters/) or pass --suffix')
    return files


def source_dataset_cfgs(dataset: Dict[str, Any],
                        key: str) -> List[Tuple[str, Dict[str, Any]]]:
    """``(config key, dataset cfg)`` of the labelled source dataset(s)."""
    kind = dataset.get('type')
    kind = getattr(kind, '__name__', kind)
    if kind == 'DomainPairDataset':
        return source_dataset_cfgs(dataset['source'], f'{key}.source')
    if kind in WRAPPERS:
        return source_dataset_cfgs(dataset['dataset'], f'{key}.dataset')
    if kind == 'ConcatDataset':
        found = []
        for i, part in enumerate(dataset['datasets']):
            found += source_dataset_cfgs(part, f'{key}.datasets[{i}]')
        return found
    return [(key, dataset)]


def dataset_lut(dataset: Any) -> Optional[np.ndarray]:
    """Raw value -> class table for ``reduce_zero_label`` / ``label_map``."""
    reduce_zero = bool(getattr(dataset, 'reduce_zero_label', False))
    label_map = getattr(dataset, 'label_map', None) or {}
    if not reduce_zero and not label_map:
        return None
    lut = np.arange(256, dtype=np.int64)
    if reduce_zero:  # as mmseg's LoadAnnotations: 0 -> 255, x -> x - 1
        lut = np.where(lut == 0, 255, lut - 1)
        lut[lut == 254] = 255
    mapped = lut.copy()
    for old, new in label_map.items():
        mapped[lut == old] = new
    return mapped


def labels_from_config(args: argparse.Namespace) -> Dict[str, Any]:
    """Label files, class count, ignore index and lut of a config's source."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_sfda  # noqa: F401  (registers our datasets)
    from mmseg_sfda.apis import load_config

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    loader = cfg.get('train_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'{args.config} has no train_dataloader.dataset')
    files: List[str] = []
    num_classes = ignore_index = lut = None
    for key, ds_cfg in source_dataset_cfgs(loader['dataset'],
                                           'train_dataloader.dataset'):
        ds_cfg = copy.deepcopy(ds_cfg)
        ds_cfg['pipeline'] = []  # only the file list is needed
        dataset = DATASETS.build(ds_cfg)
        paths = [dataset.get_data_info(i).get('seg_map_path')
                 for i in range(len(dataset))]
        if not paths or any(p is None for p in paths):
            raise ValueError(
                f'{args.config}: {key} ({type(dataset).__name__}) lists no '
                'label files (seg_map_path); spatial priors need the labelled '
                'source dataset. Set its data_prefix.seg_map_path, or use '
                '--label-dir.')
        files += paths
        classes = dataset.metainfo.get('classes')
        if classes is not None:
            if num_classes not in (None, len(classes)):
                raise ValueError(f'{args.config}: the source datasets have '
                                 'different class counts')
            num_classes = len(classes)
        ignore_index = getattr(dataset, 'ignore_index', ignore_index)
        lut = dataset_lut(dataset) if lut is None else lut
    return dict(files=files, num_classes=num_classes,
                ignore_index=ignore_index, lut=lut,
                source=f'{args.config}: {key}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmseg_sfda.pseudo_labels.spatial_priors import (compute_spatial_priors,
                                                 default_sigma,
                                                 save_spatial_priors)
    try:
        if args.label_dir is not None:
            found = dict(files=labels_from_dir(args.label_dir, args.suffix),
                         num_classes=None, ignore_index=None, lut=None,
                         source=osp.abspath(args.label_dir))
        else:
            found = labels_from_config(args)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    num_classes = args.num_classes or found['num_classes'] or 19
    ignore_index = args.ignore_index
    if ignore_index is None:
        ignore_index = 255 if found['ignore_index'] is None else \
            found['ignore_index']
    files = found['files']
    try:
        priors = compute_spatial_priors(
            files, num_classes,
            size=tuple(args.size) if args.size else None,
            kernel_size=args.kernel_size,
            ignore_index=ignore_index,
            lut=found['lut'],
            sigma=args.sigma,
            normalize=args.normalize)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    sigma = args.sigma
    if sigma is None and args.kernel_size > 1:
        sigma = default_sigma(args.kernel_size)
    meta = dict(
        num_classes=num_classes,
        size=[int(priors.shape[1]), int(priors.shape[2])],
        kernel_size=args.kernel_size,
        sigma=sigma,
        normalize=args.normalize,
        ignore_index=ignore_index,
        num_files=len(files),
        source=found['source'])
    save_spatial_priors(args.out, priors, meta)
    print(f'saved spatial priors to {args.out}')
    print(f'{num_classes} classes, {priors.shape[1]}x{priors.shape[2]} '
          f'(HxW), kernel {args.kernel_size}'
          + (f' (sigma {sigma:.2f})' if sigma else '')
          + f', normalize={args.normalize}, from {len(files)} label files '
          f'of {found["source"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
