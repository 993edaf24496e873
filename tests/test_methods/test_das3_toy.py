"""DAS3 stages a, b and c (chained by checkpoint) on the small toy benchmark (seed 0);
a reduced `python tools/demo.py --method das3`. Each stage's target mIoU is printed;
the controls over seeds (learning rate 0, ClassMix off) are in docs/toy_benchmark.md."""
import pytest

import mmseg_sfda  # noqa: F401

pytestmark = pytest.mark.slow

ITERS = 20


def test_das3_stages_beat_source_only(toy_source, toy_adabn, toy_method):
    _, source = toy_source
    _, stages = toy_method('das3', ITERS)
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          'DAS3 ' + ' '.join(f"{s}: {m['mIoU13']:.2f}" for s, m in stages.items()))
    assert stages['a']['mIoU13'] > source['mIoU13'] + 1.0
    assert stages['c']['mIoU13'] > source['mIoU13'] + 1.0
