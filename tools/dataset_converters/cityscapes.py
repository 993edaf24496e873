"""Convert Cityscapes ``*_gtFine_labelIds.png`` to ``*_gtFine_labelTrainIds.png``.

No cityscapesScripts needed: the shipped labelIds PNGs are the rasterised
polygons; the 34 -> 19 table gives the train IDs. Example::

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.cli import converter_parser, run_converter
from mmseg_sfda.datasets.converters.cityscapes import (CITYSCAPES_SPLITS,
                                                       convert_cityscapes)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Write Cityscapes gtFine/<split>/<city>/*_gtFine_labelTrainIds.png (train IDs, '
        '255 ignore) from the *_gtFine_labelIds.png label IDs.',
        'Cityscapes root with leftImg8bit/ and gtFine/')
    parser.add_argument(
        '--splits', nargs='+', default=list(CITYSCAPES_SPLITS),
        help='splits to convert (default: train val; the test labels are '
        'withheld by Cityscapes)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return run_converter(lambda: convert_cityscapes(
        args.root, args.splits, args.nproc, args.on_mismatch, args.overwrite))


if __name__ == '__main__':
    sys.exit(main())
