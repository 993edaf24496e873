import numpy as np
import pytest
import torch

from mmseg_sfda.models.utils.entropy import self_information_map


def _np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_matches_advent_prob_2_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    p = _np_softmax(logits.numpy())
    # ADVENT: -p * log2(p + 1e-30) / log2(C)
    advent = -p * np.log2(p + 1e-30) / np.log2(5)
    out = self_information_map(logits)
    assert out.shape == (2, 5, 3, 4)
    np.testing.assert_allclose(out.numpy(), advent, rtol=1e-5, atol=1e-7)
    raw = self_information_map(logits, normalize=False)
    np.testing.assert_allclose(raw.numpy(), -p * np.log(p), rtol=1e-5)


def test_hand_computed_values():
    # uniform over C = 4: each entry (1/4) log 4 / log 4 = 1/4
    out = self_information_map(torch.zeros(1, 4, 2, 2))
    torch.testing.assert_close(out, torch.full((1, 4, 2, 2), 0.25))
    # saturated: p ~ (1, 0): all zeros, no NaN
    logits = torch.tensor([200., -200.]).view(1, 2, 1, 1)
    out = self_information_map(logits.requires_grad_(True))
    assert torch.all(out.abs() < 1e-6)
    out.sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_errors():
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        self_information_map(torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match='C >= 2'):
        self_information_map(torch.zeros(1, 1, 2, 2))
