"""Convert SYNTHIA GT/LABELS to ``*_labelTrainIds.png`` (16-bit R channel).

Example::

    python tools/dataset_converters/synthia.py data/synthia --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.cli import converter_parser, run_converter
from mmseg_sfda.datasets.converters.synthia import convert_synthia


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Write SYNTHIA GT/LABELS/*_labelTrainIds.png (train IDs, 255 ignore) from the '
        '16-bit labels (class ID in R).', 'SYNTHIA root with RGB/ and GT/LABELS/')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return run_converter(lambda: convert_synthia(args.root, args.nproc,
                                                 args.on_mismatch, args.overwrite))


if __name__ == '__main__':
    sys.exit(main())
