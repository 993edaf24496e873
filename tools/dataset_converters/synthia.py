"""Convert SYNTHIA GT/LABELS to ``*_labelTrainIds.png`` (16-bit R channel).

Example::

    python tools/dataset_converters/synthia.py data/synthia --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.synthia import convert_synthia


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write SYNTHIA GT/LABELS/*_labelTrainIds.png (train IDs, '
        '255 ignore) from the 16-bit labels (class ID in R).')
    parser.add_argument('root', help='SYNTHIA root with RGB/ and GT/LABELS/')
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
        summary = convert_synthia(args.root, args.nproc,
                                  args.on_mismatch, args.overwrite)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())
