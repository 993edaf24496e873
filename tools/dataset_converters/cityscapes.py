"""Convert Cityscapes ``*_gtFine_labelIds.png`` to ``*_gtFine_labelTrainIds.png``.

No cityscapesScripts needed: the shipped labelIds PNGs are the rasterised
polygons; the 34 -> 19 table gives the train IDs. Example::

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.cityscapes import (CITYSCAPES_SPLITS,
                                                       convert_cityscapes)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write Cityscapes gtFine/<split>/<city>/'
        '*_gtFine_labelTrainIds.png (train IDs, 255 ignore) from the '
        '*_gtFine_labelIds.png label IDs.')
    parser.add_argument('root', help='Cityscapes root with leftImg8bit/ and '
                        'gtFine/')
    parser.add_argument(
        '--splits', nargs='+', default=list(CITYSCAPES_SPLITS),
        help='splits to convert (default: train val; the test labels are '
        'withheld by Cityscapes)')
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
        summary = convert_cityscapes(args.root, args.splits, args.nproc,
                                     args.on_mismatch, args.overwrite)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())
