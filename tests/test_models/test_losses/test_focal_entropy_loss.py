import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.focal_entropy_loss import FocalEntropyLoss


def _np_entropy(logits):
    x = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1)


def test_hand_computed_two_class_pixel():
    # C=2, logits (0, ln 3) -> p = (1/4, 3/4); normalised h = H / ln 2
    logits = torch.tensor([0., math.log(3.)]).view(1, 2, 1, 1)
    ent = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)) / math.log(2)
    expected = (1 - ent)**3 * ent  # Eq. 2's alpha is DAS3Segmentor's
    assert FocalEntropyLoss()(logits).item() == pytest.approx(expected,
                                                              rel=1e-5)


def test_uniform_and_raw_entropy():
    logits = torch.zeros(2, 4, 3, 3)
    # normalised h = 1 -> (1 - h)^3 * h = 0
    assert FocalEntropyLoss()(logits).item() == pytest.approx(0., abs=1e-9)
    # raw h = ln 4 > 1 -> the literal Eq. 2 is negative
    raw = FocalEntropyLoss(normalize_entropy=False)(logits)
    h = math.log(4)
    assert raw.item() == pytest.approx((1 - h)**3 * h, rel=1e-5)
    assert raw.item() < 0


def test_against_numpy_with_weight():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 3, 4) * 2
    h = _np_entropy(logits.double().numpy()) / math.log(5)
    weight = torch.rand(2, 3, 4)
    term = (1 - h)**3 * h
    loss = FocalEntropyLoss(gamma=3, loss_weight=2.)
    assert loss(logits).item() == pytest.approx(2 * term.mean(), rel=1e-5)
    weighted = loss(logits, weight=weight.unsqueeze(1))
    expected = 2 * (term * weight.double().numpy()).mean()
    assert weighted.item() == pytest.approx(expected, rel=1e-5)
    g2 = FocalEntropyLoss(gamma=2)(logits)
    assert g2.item() == pytest.approx(((1 - h)**2 * h).mean(), rel=1e-5)
    label = torch.full((2, 3, 4), 255, dtype=torch.long)
    assert torch.equal(loss(logits), loss(logits, label, ignore_index=255))


def test_gradient_finite_and_nonnegative_default():
    torch.manual_seed(1)
    logits = (torch.randn(2, 3, 4, 4) * 30).requires_grad_()
    loss = FocalEntropyLoss()(logits)
    assert loss.item() >= 0
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_registry_name_and_errors():
    loss = MODELS.build(dict(type='FocalEntropyLoss', loss_weight=0.5))
    assert isinstance(loss, FocalEntropyLoss)
    assert loss.gamma == 3 and not hasattr(loss, 'alpha')  # alpha: DAS3Segmentor's
    assert loss.loss_name.startswith('loss_')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match='weight'):
        loss(torch.randn(2, 3, 4, 4), weight=torch.ones(2, 3, 3))
    with pytest.raises(ValueError, match='integer'):
        FocalEntropyLoss(normalize_entropy=False, gamma=2.5)
    with pytest.raises(ValueError, match='gamma'):
        FocalEntropyLoss(gamma=-1)


@pytest.mark.parametrize('detach_weight', [True, False])
def test_gradient_hand_computed(detach_weight):
    """One two-class pixel, logits (z, 0), p = sigmoid(z), h normalised by log 2:
    dh/dz = -z p (1 - p) / log 2. Eq. 2 with a detached focal factor gives
    dL/dz = (1 - h)^3 dh/dz (descent lowers h); differentiating the factor too gives
    (1 - h)^2 (1 - 4h) dh/dz, which at h > 1/4 raises the entropy."""
    z = 0.3
    logits = torch.tensor([z, 0.]).view(1, 2, 1, 1).requires_grad_()
    loss = FocalEntropyLoss(gamma=3, detach_weight=detach_weight)(logits)
    loss.backward()
    p = 1 / (1 + math.exp(-z))
    h = -(p * math.log(p) + (1 - p) * math.log(1 - p)) / math.log(2)
    dh_dz = -z * p * (1 - p) / math.log(2)
    factor = (1 - h) ** 3 if detach_weight else (1 - h) ** 2 * (1 - 4 * h)
    expected = factor * dh_dz
    assert loss.item() == pytest.approx((1 - h) ** 3 * h, rel=1e-5)
    assert logits.grad[0, 0, 0, 0].item() == pytest.approx(expected, rel=1e-4)
    assert logits.grad[0, 1, 0, 0].item() == pytest.approx(-expected, rel=1e-4)
    # a gradient-descent step: detached lowers the entropy, the full product raises it
    assert (logits.grad[0, 0, 0, 0].item() < 0) is detach_weight
