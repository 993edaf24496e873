import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.adversarial_loss import AdversarialLoss


def _np_bce(x, t):
    s = 1 / (1 + np.exp(-x))
    return -(t * np.log(s) + (1 - t) * np.log(1 - s))


def test_constant_labels_hand_computed():
    loss = AdversarialLoss()
    zeros = torch.zeros(2, 1, 3, 3)
    assert loss(zeros, 'target').item() == pytest.approx(math.log(2))
    # logit log(3): sigmoid = 3/4; against 1: -log(3/4); against 0: -log(1/4)
    x = torch.full((1, 1, 2, 2), math.log(3))
    assert loss(x, 'target').item() == pytest.approx(-math.log(0.75))
    assert loss(x, 'source').item() == pytest.approx(-math.log(0.25))
    assert loss(x, 1).item() == pytest.approx(-math.log(0.75))
    swapped = AdversarialLoss(source_label=1., target_label=0.)
    assert swapped(x, 'source').item() == pytest.approx(-math.log(0.75))


def test_tensor_target_weight_and_resize():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 4, 4)
    hard = torch.rand(2, 4, 4) > 0.5
    t = hard.numpy().astype(np.float64)[:, None]
    bce = _np_bce(x.double().numpy(), t)
    loss = AdversarialLoss(loss_weight=2.)
    assert loss(x, hard).item() == pytest.approx(2 * bce.mean(), rel=1e-5)
    # G step of Eq. 6: hard pixels against 0
    g = _np_bce(x.double().numpy(), 0.) * t
    assert loss(x, 0., weight=hard).item() == pytest.approx(
        2 * g.mean(), rel=1e-5)
    wm = AdversarialLoss(reduction='weighted_mean')(x, 0., weight=hard)
    assert wm.item() == pytest.approx(g.sum() / t.sum(), rel=1e-5)
    s = AdversarialLoss(reduction='sum')(x, 0., weight=hard)
    assert s.item() == pytest.approx(g.sum(), rel=1e-5)
    # a 8x8 mask is resized (nearest) to the 4x4 output
    big = hard.repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert loss(x, big[:, None]).item() == pytest.approx(
        loss(x, hard).item())
    assert loss(x, 0., weight=big).item() == pytest.approx(
        loss(x, 0., weight=hard).item())


def test_log_of_sums_literal_eq6():
    torch.manual_seed(1)
    x = torch.randn(2, 1, 3, 3)
    hard = torch.rand(2, 3, 3) > 0.5
    hard[0, 0, 0], hard[0, 0, 1] = True, False
    hard[1, 0, 0], hard[1, 0, 1] = True, False
    d = 1 / (1 + np.exp(-x.double().numpy()[:, 0]))
    m = hard.numpy().astype(np.float64)
    loss = AdversarialLoss(reduction='log_of_sums')
    per_img = -np.log((d * m).sum((1, 2))) - np.log(
        ((1 - d) * (1 - m)).sum((1, 2)))
    assert loss(x, hard).item() == pytest.approx(per_img.mean(), rel=1e-5)
    # G step: -log sum((J - D) o M)
    g = -np.log(((1 - d) * m).sum((1, 2)))
    assert loss(x, 0., weight=hard).item() == pytest.approx(
        g.mean(), rel=1e-5)


def test_grad_and_errors():
    x = torch.zeros(1, 1, 2, 2, requires_grad=True)
    AdversarialLoss()(x, 'target').backward()
    # d/dx BCE(x, 1) = sigmoid(x) - 1 = -1/2, mean over 4
    torch.testing.assert_close(x.grad, torch.full_like(x, -0.125))
    loss = MODELS.build(dict(type='AdversarialLoss', loss_weight=0.001))
    assert loss.loss_name == 'loss_adv'
    empty = AdversarialLoss(reduction='weighted_mean')(
        x, 0., weight=torch.zeros(1, 2, 2))
    assert empty.item() == 0.
    with pytest.raises(ValueError, match='reduction'):
        AdversarialLoss(reduction='none')
    with pytest.raises(ValueError, match=r'\(B, K, h, w\)'):
        loss(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="'source' or 'target'"):
        loss(x, 'src')
    with pytest.raises(ValueError, match='per pixel'):
        loss(x, torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match='per pixel'):
        loss(x, 1., weight=torch.zeros(1, 2, 2, 2))
