import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.entropy_loss import EntropyLoss


def _np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_hand_computed():
    # uniform over C: normalised entropy 1, raw entropy log C
    logits = torch.zeros(2, 6, 3, 3)
    assert EntropyLoss()(logits).item() == pytest.approx(1.0)
    raw = EntropyLoss(normalize=False)(logits).item()
    assert raw == pytest.approx(math.log(6))
    # one pixel p = (1/2, 1/2, 0, ...): entropy log 2, normalised log2/log4
    logits = torch.tensor([0., 0., -1e4, -1e4]).view(1, 4, 1, 1)
    assert EntropyLoss()(logits).item() == pytest.approx(0.5)


def test_matches_advent_entropy_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 3)
    p = _np_softmax(logits.double().numpy())
    n, c, h, w = p.shape
    advent = -np.sum(p * np.log2(p + 1e-30)) / (n * h * w * np.log2(c))
    loss = EntropyLoss(loss_weight=2.)(logits)
    assert loss.item() == pytest.approx(2 * advent, rel=1e-5)


def test_weight_label_ignored_and_grad():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    loss = EntropyLoss()
    label = torch.full((2, 4, 4), 255, dtype=torch.long)
    assert torch.equal(loss(logits), loss(logits, label, ignore_index=0))
    weight = torch.zeros(2, 1, 4, 4)
    weight[1] = 3.
    p = torch.softmax(logits.detach().double(), 1)
    ent = -(p * p.log()).sum(1) / math.log(3)
    expected = (3 * ent[1]).sum() / (2 * 16)
    assert loss(logits, weight=weight).item() == pytest.approx(
        expected.item(), rel=1e-5)
    loss(logits).backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match='weight'):
        loss(logits, weight=torch.ones(2, 3, 3))


def test_registry_and_errors():
    loss = MODELS.build(dict(type='EntropyLoss', loss_weight=0.001))
    assert isinstance(loss, EntropyLoss)
    assert loss.loss_name == 'loss_ent'
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match='C >= 2'):
        loss(torch.zeros(1, 1, 3, 3))
