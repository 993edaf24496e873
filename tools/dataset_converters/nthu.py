"""Convert NTHU Cross-City ``Labels/Test/*_eval.png`` to train IDs.

Example::

    python tools/dataset_converters/nthu.py data/nthu --cities Rome Rio
    python tools/dataset_converters/nthu.py data/nthu --check-train-images
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.datasets.converters.cli import converter_parser, run_converter
from mmseg_sfda.datasets.converters.nthu import (check_nthu_train_images,
                                                 convert_nthu)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Write NTHU <City>/Labels/Test/*_labelTrainIds.png (train IDs, 255 ignore) '
        'from the *_eval.png Cityscapes label IDs.', 'NTHU root with one folder per city')
    parser.add_argument(
        '--cities', nargs='+', default=None,
        help='cities to convert, e.g. Rome Rio Tokyo Taipei (default: every '
        'city folder with Labels/Test)')
    parser.add_argument(
        '--check-train-images', action='store_true',
        help='also decode every unlabelled Images/Train/*.jpg in full and '
        'name the truncated or corrupt ones (test images are always '
        'checked); recommended once after download')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def convert():
        summary = convert_nthu(args.root, args.cities, args.nproc, args.on_mismatch,
                               args.overwrite)
        if args.check_train_images and check_nthu_train_images(args.root, args.cities,
                                                               args.nproc):
            return None  # bad training images, named in the log
        return summary

    return run_converter(convert)


if __name__ == '__main__':
    sys.exit(main())
