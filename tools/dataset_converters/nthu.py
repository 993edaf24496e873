"""Convert NTHU Cross-City ``Labels/Test/*_eval.png`` to train IDs.

Example::

    python tools/dataset_converters/nthu.py data/nthu --cities Rome Rio
    python tools/dataset_converters/nthu.py data/nthu --check-train-images
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.nthu import (check_nthu_train_images,
                                                 convert_nthu)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write NTHU <City>/Labels/Test/*_labelTrainIds.png '
        '(train IDs, 255 ignore) from the *_eval.png Cityscapes label IDs.')
    parser.add_argument('root', help='NTHU root with one folder per city')
    parser.add_argument(
        '--cities', nargs='+', default=None,
        help='cities to convert, e.g. Rome Rio Tokyo Taipei (default: every '
        'city folder with Labels/Test)')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    parser.add_argument(
        '--on-mismatch', choices=('resize', 'skip'), default='resize',
        help='label and image sizes differ: resize the label (nearest) to '
        'the image size, or skip the pair; both are reported')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-convert every file, even outputs recorded as up to date')
    parser.add_argument(
        '--check-train-images', action='store_true',
        help='also decode every unlabelled Images/Train/*.jpg in full and '
        'name the truncated or corrupt ones (test images are always '
        'checked); recommended once after download')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        summary = convert_nthu(args.root, args.cities, args.nproc,
                               args.on_mismatch, args.overwrite)
        bad = []
        if args.check_train_images:
            bad = check_nthu_train_images(args.root, args.cities, args.nproc)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0 if summary.ok and not bad else 1


if __name__ == '__main__':
    sys.exit(main())
