"""Generate the toy domain-shift benchmark in the real datasets' layouts.

Example::

    python tools/make_toy_domains.py --out data/toy --seed 0 \\
        --height 128 --width 256 --num-source 400 --num-target-train 400 \\
        --num-target-val 100 --shift 1.0 --layouts gta5 synthia cityscapes nthu

Writes ``<out>/gta5`` and ``<out>/synthia`` (source look) and
``<out>/cityscapes`` and ``<out>/nthu`` (target look). Each image is seeded
from (seed, domain, index), so the output does not depend on ``--nproc``;
a re-run skips files that exist. ``<out>/toy_domains.json`` records the seed, size and
shift; a run into a folder made with other ones stops (no mix of two toy sets).
"""
import argparse
import sys
from typing import List, Optional

from mmseg_sfda.toy.domains import ToyDomainSpec, make_toy_domains
from mmseg_sfda.toy.layouts import LAYOUTS, NTHU_CITIES
from mmseg_sfda.utils.bad_input import BadInputError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Render the toy source (GTA5 / SYNTHIA layouts) and target '
        '(Cityscapes / NTHU layouts) street-scene domains.')
    p.add_argument('--out', default='data/toy', help='output root')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--height', type=int, default=128)
    p.add_argument('--width', type=int, default=256)
    p.add_argument('--num-source', type=int, default=400,
                   help='images in each source layout (GTA5, SYNTHIA)')
    p.add_argument('--num-target-train', type=int, default=400,
                   help='Cityscapes train images; NTHU Train images per city')
    p.add_argument('--num-target-val', type=int, default=100,
                   help='Cityscapes val images; NTHU Test images per city')
    p.add_argument('--shift', type=float, default=1.0,
                   help='domain gap: 0 target looks like source, 1 default')
    p.add_argument('--layouts', nargs='+', choices=LAYOUTS, default=list(LAYOUTS))
    p.add_argument('--cities', nargs='+', choices=NTHU_CITIES, default=['Rome'],
                   help='NTHU cities')
    p.add_argument('--nproc', type=int, default=2, help='worker processes')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    spec = ToyDomainSpec(**{k: v for k, v in vars(args).items() if k != 'nproc'})
    try:
        summary = make_toy_domains(spec, args.nproc)
    except BadInputError as err:
        print(f'make_toy_domains: {err}', file=sys.stderr)
        return 2
    print()
    print(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
