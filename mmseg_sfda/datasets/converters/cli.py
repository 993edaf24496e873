"""What every converter command line shares: its options and its exit codes."""
import argparse
import sys
from typing import Callable, Optional

from .common import ConvertSummary


def converter_parser(description: str, root_help: str) -> argparse.ArgumentParser:
    """A parser with ``root``, ``--nproc``, ``--on-mismatch`` and ``--overwrite``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('root', help=root_help)
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    parser.add_argument(
        '--on-mismatch', choices=('resize', 'skip'), default='resize',
        help='label and image sizes differ: resize the label (nearest) to '
        'the image size, or skip the pair; both are reported')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-convert every file, even outputs recorded as up to date')
    return parser


def run_converter(convert: Callable[[], Optional[ConvertSummary]]) -> int:
    """Exit code of ``convert()``: 0 done, 1 some files failed (named in the log),
    2 the input is unusable (the message says why); ``convert`` returns the summary,
    or None where it reported failures of its own."""
    try:
        summary = convert()
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0 if summary is not None and summary.ok else 1
