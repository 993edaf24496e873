import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.negative_pseudo_label_loss import \
    NegativePseudoLabelLoss


def test_hand_computed():
    # C=3, zero logits -> p = 1/3; pixel (0,0) has 2 negatives, (0,1) none
    logits = torch.zeros(1, 3, 1, 2)
    mask = torch.zeros(1, 3, 1, 2, dtype=torch.bool)
    mask[0, 1:, 0, 0] = True
    per_pixel = -2 * math.log(2 / 3)
    loss = NegativePseudoLabelLoss()
    assert loss(logits, mask).item() == pytest.approx(per_pixel / 2,
                                                      rel=1e-6)
    paper = NegativePseudoLabelLoss(reduction='paper_sum')(logits, mask)
    assert paper.item() == pytest.approx(per_pixel, rel=1e-6)


def test_against_numpy_and_weight():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3) * 3
    x = logits.double().numpy()
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    mask = NegativePseudoLabelLoss.negative_mask(torch.from_numpy(p), 0.2)
    assert mask.dtype == torch.bool and mask.any() and not mask.all()
    m = mask.numpy()
    per_pixel = -(m * np.log(1 - p)).sum(axis=1)
    loss = NegativePseudoLabelLoss(loss_weight=2.)
    assert loss(logits, mask).item() == pytest.approx(
        2 * per_pixel.mean(), rel=1e-5)
    paper = NegativePseudoLabelLoss(reduction='paper_sum')(logits, mask)
    assert paper.item() == pytest.approx(per_pixel.sum() / 2, rel=1e-5)
    # 0/1 float mask works like the bool one
    assert loss(logits, mask.float()).item() == pytest.approx(
        loss(logits, mask).item())
    weight = torch.rand(2, 3, 3)
    assert loss(logits, mask, weight=weight).item() == pytest.approx(
        2 * (per_pixel * weight.double().numpy()).mean(), rel=1e-5)


def test_stable_where_p_saturates():
    # p_0 -> 1 in float32: naive log1p(-p) = -inf; exact value is
    # log(2 e^-100 / (1 + 2 e^-100)) ~= ln 2 - 100
    logits = torch.tensor([100., 0., 0.]).view(1, 3, 1, 1).requires_grad_()
    mask = torch.tensor([True, False, True]).view(1, 3, 1, 1)
    out = NegativePseudoLabelLoss()(logits, mask)
    expected = (100 - math.log(2)) - math.log(1 - 1 / (2 + math.exp(100)))
    assert out.item() == pytest.approx(expected, rel=1e-6)
    out.backward()
    assert torch.isfinite(logits.grad).all()
    # d/dz [-log(1-p_0)] = p_0 * (e_0 - p) / (1 - p_0); with p_0 ~ 1 the
    # gradient is ~ (1, -1/2, -1/2) for the p_0 term
    assert logits.grad[0, 0, 0, 0].item() == pytest.approx(1., abs=1e-4)


def test_gradient_matches_naive_float64():
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 2, 3, dtype=torch.float64)
    mask = torch.rand(2, 5, 2, 3) < 0.5
    a = logits.clone().requires_grad_()
    NegativePseudoLabelLoss()(a, mask).backward()
    b = logits.clone().requires_grad_()
    p = torch.softmax(b, 1)
    (-(mask * torch.log(1 - p)).sum(1).mean()).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-4,
                               atol=1e-6)
    log1m = NegativePseudoLabelLoss.log_one_minus_softmax(logits)
    torch.testing.assert_close(log1m, torch.log1p(-torch.softmax(
        logits, 1)).float())


def test_registry_name_and_errors():
    loss = MODELS.build(dict(type='NegativePseudoLabelLoss'))
    assert isinstance(loss, NegativePseudoLabelLoss)
    assert loss.loss_name.startswith('loss_')
    logits = torch.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.randn(3, 4, 5), torch.ones(3, 4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match='neg_mask'):
        loss(logits, torch.ones(2, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='weight'):
        loss(logits, torch.ones_like(logits, dtype=torch.bool),
             weight=torch.ones(2, 3, 3))
    with pytest.raises(ValueError, match='reduction'):
        NegativePseudoLabelLoss(reduction='sum')
