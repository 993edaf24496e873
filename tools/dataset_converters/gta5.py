"""Convert GTA5 labels to ``labels/*_labelTrainIds.png`` (Cityscapes IDs).

Example::

    python tools/dataset_converters/gta5.py data/gta5 --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.gta5 import convert_gta5


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write GTA5 labels/*_labelTrainIds.png (train IDs, 255 '
        'ignore) from the palette-index labels.')
    parser.add_argument('root', help='GTA5 root with images/ and labels/')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    parser.add_argument(
        '--on-mismatch', choices=('resize', 'skip'), default='resize',
        help='label and image sizes differ: resize the label (nearest) to '
        'the image size, or skip the pair; both are reported')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-convert every file, even outputs recorded as up to date')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        summary = convert_gta5(args.root, args.nproc, args.on_mismatch,
                               args.overwrite)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())
