"""SFDA on the small toy benchmark (seed 0): source-free adaptation from the source
model raises target mIoU, and the run without its patch-level self-supervision (IPSM,
the paper's "w/o IPSM" ablation, same seed) is printed beside it.

A reduced version of `python tools/demo.py --method sfda`; docs/toy_benchmark.md has
the numbers over seeds and against AdaBN.
"""
import pytest

import mmseg_sfda  # noqa: F401

pytestmark = pytest.mark.slow

ITERS = 20


def test_sfda_beats_source_only(toy_source, toy_adabn, toy_method):
    _, source = toy_source
    _, adapted = toy_method('sfda', ITERS)
    _, without_ipsm = toy_method('sfda', ITERS, 'term_off')
    adapted, without_ipsm = adapted['sfda'], without_ipsm['sfda']
    print(f"mIoU13 source-only {source['mIoU13']:.2f}, AdaBN {toy_adabn['mIoU13']:.2f}, "
          f"SFDA w/o IPSM {without_ipsm['mIoU13']:.2f}, SFDA {adapted['mIoU13']:.2f}")
    assert adapted['mIoU13'] > source['mIoU13'] + 1.0
    assert without_ipsm['mIoU13'] > source['mIoU13'] + 1.0
