"""PixIntraDA on the small toy benchmark (seed 0), as the second stage after a short
AdaptSegNet run (the paper's chain; the AdaptSegNet run is shared with its test): one
labelling by the frozen AdaptSegNet copy, median thresholds capped at 0.9, binary
pixel-level adversarial loss (beta 0.001). It raises target mIoU over the source model;
the easy share of pixels (Prop., Eq. 4) is sane.

Not asserted, and why (docs/toy_benchmark.md, 3 seeds): PixIntraDA beats AdaBN only at
shift 2; at shift 1 it stays below its AdaptSegNet start on every seed (-1.81, -2.20,
-0.15 mIoU13) and its beta = 0 control is identical, so neither margin exists to test.
"""
import os.path as osp

import pytest

import mmseg_sfda  # noqa: F401
from mmseg_sfda.utils.pseudo_label_io import read_json

pytestmark = pytest.mark.slow

ITERS = 20


def test_pixintrada_beats_source_only(toy_source, toy_method):
    _, source = toy_source
    _, inter = toy_method('adaptseg', ITERS)
    ckpt, adapted = toy_method('pixintrada', ITERS)
    inter, adapted = inter['adaptsegnet'], adapted['pixintrada']
    stats = read_json(osp.join(osp.dirname(ckpt), 'pseudo_labels', 'round_0',
                               'class_stats.json'))
    assert stats['policy']['type'] == 'median'
    assert all(0 < t <= 0.9 or t == 1.0 for t in stats['thresholds'])
    assert 0.3 < stats['kept_total'] < 0.8  # Prop. (Eq. 4) over the target set
    print(f"mIoU13 source-only {source['mIoU13']:.2f} -> AdaptSegNet {inter['mIoU13']:.2f} "
          f"-> PixIntraDA {adapted['mIoU13']:.2f} (easy pixels "
          f"{100 * stats['kept_total']:.1f}%)")
    assert adapted['mIoU13'] > source['mIoU13'] + 1.0  # over seeds: >= +1.3
