"""Convert GTA5 labels to ``labels/*_labelTrainIds.png`` (Cityscapes IDs).

Example::

    python tools/dataset_converters/gta5.py data/gta5 --nproc 8
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.cli import converter_parser, run_converter
from mmseg_sfda.datasets.converters.gta5 import convert_gta5


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Write GTA5 labels/*_labelTrainIds.png (train IDs, 255 ignore) from the '
        'palette-index labels.', 'GTA5 root with images/ and labels/')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return run_converter(lambda: convert_gta5(args.root, args.nproc, args.on_mismatch,
                                              args.overwrite))


if __name__ == '__main__':
    sys.exit(main())
