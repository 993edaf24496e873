"""DAS3 stages a, b and c (chained by checkpoint) on the small toy benchmark (seed 0);
a reduced `python tools/demo.py --method das3`. Each stage's target mIoU is printed.

Stage a (started from AdaBN statistics) is asserted above source-only. Stages b and c
run end to end but their mIoU is not asserted: over seeds they fall below stage a and
AdaBN on this toy (docs/toy_benchmark.md: stage c -3.97 +- 0.99 mIoU13 against AdaBN,
and at seed 1 below source-only), an open problem the method page records."""
import pytest

import mmseg_sfda  # noqa: F401

pytestmark = pytest.mark.slow

ITERS = 20


def test_das3_stages_beat_source_only(toy_source, toy_adabn, toy_method):
    _, source = toy_source
    _, stages = toy_method('das3', ITERS)
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          'DAS3 ' + ' '.join(f"{s}: {m['mIoU13']:.2f}" for s, m in stages.items()))
    assert stages['a']['mIoU13'] > source['mIoU13'] + 3.0
    assert set(stages) == {'a', 'b', 'c'}
