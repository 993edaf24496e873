import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.kld_regularization_loss import \
    KLDRegularizationLoss


def _np_log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def test_uniform_hand_computed():
    logits = torch.zeros(2, 4, 3, 3)
    assert KLDRegularizationLoss()(logits).item() == pytest.approx(
        math.log(4))
    exact = KLDRegularizationLoss(zero_at_uniform=True)(logits)
    assert exact.item() == pytest.approx(0., abs=1e-6)
    # p = (1/2, 1/4, 1/4): r = -(log 1/2 + 2 log 1/4) / 3 = 5 log 2 / 3
    logits = torch.log(torch.tensor([0.5, 0.25, 0.25])).view(1, 3, 1, 1)
    assert KLDRegularizationLoss()(logits).item() == pytest.approx(
        5 * math.log(2) / 3, rel=1e-5)


def test_against_numpy_crst_reg_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 3)
    label = torch.randint(0, 5, (2, 4, 3))
    label[0, :2] = 255
    logp = _np_log_softmax(logits.double().numpy())
    valid = (label.numpy() != 255)[:, None]
    # CRST: sum(-log_softmax * valid / C) / valid_num
    crst = np.sum(-logp * valid / 5) / valid.sum()
    loss = KLDRegularizationLoss(loss_weight=0.1)
    assert loss(logits, label).item() == pytest.approx(0.1 * crst, rel=1e-5)
    # KL(u || p) = sum_c (1/C) log((1/C) / p_c), numpy, mean over valid
    kl = (np.log(1 / 5) - logp).mean(axis=1)[valid[:, 0]].mean()
    exact = KLDRegularizationLoss(zero_at_uniform=True)(logits, label)
    assert exact.item() == pytest.approx(kl, rel=1e-5)
    assert kl >= 0
    # all pixels when no label / only_labeled=False
    all_pix = np.mean(-logp.mean(axis=1))
    assert KLDRegularizationLoss()(logits).item() == pytest.approx(
        all_pix, rel=1e-5)
    loose = KLDRegularizationLoss(only_labeled=False)(logits, label)
    assert loose.item() == pytest.approx(all_pix, rel=1e-5)


def test_weight_grad_and_empty():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 2, 2, requires_grad=True)
    weight = torch.zeros(2, 2, 2)
    weight[0] = 2.
    label = torch.zeros(2, 2, 2, dtype=torch.long)
    p_log = torch.log_softmax(logits.detach().double(), 1)
    expected = (2 * -p_log[0].mean(0)).sum() / 8
    out = KLDRegularizationLoss()(logits, label, weight=weight)
    assert out.item() == pytest.approx(expected.item(), rel=1e-5)
    # gradient pulls towards uniform: d/dz_j = (p_j - 1/C) / (C-independent)
    KLDRegularizationLoss()(logits).backward()
    p = torch.softmax(logits.detach(), 1)
    torch.testing.assert_close(logits.grad, (p - 1 / 3) / 8)
    empty = KLDRegularizationLoss()(logits, torch.full((2, 2, 2), 255))
    assert empty.item() == 0. and empty.requires_grad


def test_registry_and_errors():
    loss = MODELS.build(dict(type='KLDRegularizationLoss'))
    assert isinstance(loss, KLDRegularizationLoss)
    assert loss.loss_name.startswith('loss_')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.zeros(3, 3, 3))
    with pytest.raises(ValueError, match='label'):
        loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match='weight'):
        loss(torch.zeros(1, 3, 2, 2), weight=torch.zeros(2, 2, 2))
