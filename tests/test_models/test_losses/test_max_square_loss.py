import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses import MaxSquareLoss


def _np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_uniform_prediction_hand_computed():
    # zero logits, C = 4 -> p = 1/4 everywhere: sum_c p^2 = 4/16 = 1/4
    logits = torch.zeros(2, 4, 3, 5)
    assert MaxSquareLoss()(logits).item() == pytest.approx(-0.25)
    # code form: -mean(p^2) / 2 = -(1/16) / 2
    code = MaxSquareLoss(reduction='maxsquare_code')(logits)
    assert code.item() == pytest.approx(-1 / 32)


def test_against_numpy_and_constant_ratio():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5)
    p = _np_softmax(logits.double().numpy())
    paper = -(p**2).sum(axis=1).mean()  # -1/(HW) sum_hw sum_c p^2, batch mean
    code = -(p**2).mean() / 2
    assert MaxSquareLoss()(logits).item() == pytest.approx(paper, rel=1e-5)
    out = MaxSquareLoss(reduction='maxsquare_code', loss_weight=3.)(logits)
    assert out.item() == pytest.approx(3 * code, rel=1e-5)
    assert paper / code == pytest.approx(2 * 3)  # ratio 2C


def test_gradient_matches_closed_form():
    # d/dz_j sum_c p_c^2 = 2 p_j (p_j - sum_c p_c^2)
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 3, 2, dtype=torch.float64, requires_grad=True)
    MaxSquareLoss()(logits).backward()
    p = torch.softmax(logits.detach(), dim=1)
    sq = (p**2).sum(dim=1, keepdim=True)
    n_pix = 2 * 3 * 2
    expected = -2. / n_pix * p * (p - sq)
    torch.testing.assert_close(logits.grad, expected.to(logits.grad.dtype))


def test_label_is_ignored_and_weight_applies():
    torch.manual_seed(2)
    logits = torch.randn(2, 3, 4, 4)
    loss = MaxSquareLoss()
    label = torch.full((2, 4, 4), 255, dtype=torch.long)
    assert torch.equal(loss(logits), loss(logits, label, ignore_index=255))
    weight = torch.zeros(2, 4, 4)
    weight[0] = 2.
    p = torch.softmax(logits, 1)
    expected = -(2 * (p[0]**2).sum(0)).sum() / (2 * 16)
    assert loss(logits, weight=weight).item() == pytest.approx(
        expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match='weight'):
        loss(logits, weight=torch.ones(2, 3, 3))


def test_registry_name_and_errors():
    loss = MODELS.build(dict(type='MaxSquareLoss', loss_weight=0.5))
    assert isinstance(loss, MaxSquareLoss)
    assert loss.loss_name.startswith('loss_')
    with pytest.raises(ValueError, match='reduction'):
        MaxSquareLoss(reduction='mean')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.randn(3, 4, 5))
