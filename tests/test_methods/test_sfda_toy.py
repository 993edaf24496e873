"""SFDA on the small toy benchmark (seed 0): source-free adaptation from the source
model raises target mIoU over it.

A reduced version of `python tools/demo.py --method sfda`. Its controls (learning rate
0, without IPSM) over seeds are in docs/toy_benchmark.md: at this size SFDA stays below
AdaBN and its IPSM term's effect is inside the seed spread, so neither is asserted here;
its losses are tested against hand-computed values in tests/test_models.
"""
import pytest

import mmseg_sfda  # noqa: F401

pytestmark = pytest.mark.slow

ITERS = 20


def test_sfda_beats_source_only(toy_source, toy_adabn, toy_method):
    _, source = toy_source
    _, adapted = toy_method('sfda', ITERS)
    adapted = adapted['sfda']
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          f"SFDA {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 2.0  # over seeds: >= +3.2
