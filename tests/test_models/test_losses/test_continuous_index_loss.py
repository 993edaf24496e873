import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.continuous_index_loss import \
    ContinuousIndexLoss


def test_hand_computed():
    # sigmoid(0) = 1/2 everywhere
    d = torch.zeros(1, 1, 2, 2)
    z = torch.tensor([[[0., 0.5], [0.25, 0.]]])
    hard = torch.tensor([[[False, True], [True, False]]])
    loss = ContinuousIndexLoss()
    # (1/4 + 0 + 1/16 + 1/4) / 4
    assert loss(d, z).item() == pytest.approx((0.25 + 0.0625 + 0.25) / 4)
    # generator: ||D o M||^2 = 2 * 1/4, mean over 4 pixels
    assert loss(d, hard_mask=hard, mode='generator').item() == \
        pytest.approx(0.125)
    total = ContinuousIndexLoss(reduction='sum')
    assert total(d, z).item() == pytest.approx(0.5625)
    assert total(d, hard_mask=hard, mode='generator').item() == \
        pytest.approx(0.5)


def test_against_numpy_with_eq7_index():
    torch.manual_seed(0)
    prob = torch.softmax(torch.randn(2, 4, 6, 6) * 3, dim=1)
    easy = (prob > 0.7).any(dim=1)  # Eq. 2 with t_k = 0.7, alpha = 1
    z = (1 - prob.max(dim=1)[0]).masked_fill(easy, 0.)  # Eq. 7
    d = torch.randn(2, 1, 6, 6)
    dn = d.double().numpy()[:, 0]
    zn = np.where(easy.numpy(), 0., 1 - prob.double().numpy().max(1))
    m = (~easy).numpy()
    raw = ContinuousIndexLoss(use_sigmoid=False, loss_weight=0.5)
    assert raw(d, z).item() == pytest.approx(
        0.5 * ((dn - zn)**2).mean(), rel=1e-5)
    assert raw(d, hard_mask=~easy, mode='generator').item() == \
        pytest.approx(0.5 * ((dn * m)**2).mean(), rel=1e-5)
    s = 1 / (1 + np.exp(-dn))
    sig = ContinuousIndexLoss(reduction='sum')
    assert sig(d, z[:, None]).item() == pytest.approx(
        ((s - zn)**2).sum(), rel=1e-5)


def test_generator_grad_only_on_hard_and_resize():
    d = torch.zeros(1, 1, 2, 2, requires_grad=True)
    hard = torch.tensor([[[True, False], [False, False]]])
    ContinuousIndexLoss(use_sigmoid=False)(
        d + 1., hard_mask=hard, mode='generator').backward()
    # d/dd (d+1)^2 / 4 = 2 * 1 / 4 on the hard pixel only
    expected = torch.tensor([[[[0.5, 0.], [0., 0.]]]])
    torch.testing.assert_close(d.grad, expected)
    big = hard.repeat_interleave(2, 1).repeat_interleave(2, 2)
    loss = ContinuousIndexLoss()
    x = torch.randn(1, 1, 2, 2)
    assert loss(x, hard_mask=big, mode='generator').item() == \
        pytest.approx(loss(x, hard_mask=hard, mode='generator').item())
    x.requires_grad_(True)
    z = torch.rand(1, 2, 2, requires_grad=True)
    loss(x, z).backward()  # the index is a fixed target
    assert z.grad is None and x.grad.abs().sum() > 0


def test_registry_and_errors():
    loss = MODELS.build(dict(type='ContinuousIndexLoss', loss_weight=0.01))
    assert loss.loss_name.startswith('loss_')
    d = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match='reduction'):
        ContinuousIndexLoss(reduction='none')
    with pytest.raises(ValueError, match='mode'):
        loss(d, torch.zeros(1, 2, 2), mode='gen')
    with pytest.raises(ValueError, match='index'):
        loss(d)
    with pytest.raises(ValueError, match='hard mask'):
        loss(d, mode='generator')
    with pytest.raises(ValueError, match=r'\(B, K, h, w\)'):
        loss(torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match='per pixel'):
        loss(d, torch.zeros(2, 2, 2))
