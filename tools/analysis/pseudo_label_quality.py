"""Score a round of pseudo labels against ground truth, per class.

Example (the toy, or any target set with some labelled images)::

    python tools/analysis/pseudo_label_quality.py \\
        work_dirs/cbst/pseudo_labels/round_0 data/cityscapes/gtFine/train

Prints, per class, the share of its pixels that got a label, that got the right one,
and the precision of that label; ``--out`` writes them as JSON. A class with no correct
pixel can never be learnt from these labels, whatever the training does.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import List, Optional

import numpy as np
from prettytable import PrettyTable

from mmseg_sfda.pseudo_labels.label_quality import (class_quality, label_confusion,
                                                    match_ground_truth)
from mmseg_sfda.utils.bad_input import BadInputError
from mmseg_sfda.utils.class_maps import CITYSCAPES_CLASSES


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('round_dir', help='a finished round: <work_dir>/pseudo_labels/round_N')
    p.add_argument('gt_dir', help='folder searched recursively for ground-truth files')
    p.add_argument('--img-suffix', default='_leftImg8bit.png')
    p.add_argument('--seg-suffix', default='_gtFine_labelTrainIds.png')
    p.add_argument('--out', help='JSON file for the per-class figures')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    gt_files = glob.glob(osp.join(args.gt_dir, '**', '*' + args.seg_suffix), recursive=True)
    try:
        pairs = match_ground_truth(args.round_dir, gt_files, args.img_suffix,
                                   args.seg_suffix)
        conf = label_confusion(pairs, len(CITYSCAPES_CLASSES), progress=True)
    except (BadInputError, FileNotFoundError, OSError) as err:
        print(f'pseudo_label_quality: {err}', file=sys.stderr)
        return 2
    quality = class_quality(conf)
    table = PrettyTable(['class', 'pixels', 'labelled %', 'correct %', 'precision %'])
    for c, name in enumerate(CITYSCAPES_CLASSES):
        if quality['pixels'][c]:
            table.add_row([name, int(quality['pixels'][c])] +
                          [f'{quality[key][c]:.1f}' for key in ('labelled', 'correct',
                                                                'precision')])
    total = conf.sum()
    print(f'\n{len(pairs)} images of {args.round_dir}: {100 * conf[:, :-1].sum() / total:.1f}'
          f'% of the pixels labelled, {100 * np.trace(conf[:, :-1]) / total:.1f}% correctly')
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({name: {key: float(quality[key][c]) for key in quality}
                       for c, name in enumerate(CITYSCAPES_CLASSES)}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
