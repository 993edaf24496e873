import pytest
import torch

from mmseg_sfda.models.utils import DualAttentionModule
from mmseg_sfda.models.losses import DADSelfLoss


def test_hand_computed():
    # A of shape (B=1, 2C=2, N=2); |diff| = [1, 2, 3, 6] -> mean 3
    frozen = torch.zeros(1, 2, 2)
    trained = torch.tensor([[[1., -2.], [3., 6.]]])
    assert DADSelfLoss()(frozen, trained).item() == pytest.approx(3.)
    assert DADSelfLoss(loss_weight=.5)(frozen, trained).item() == \
        pytest.approx(1.5)


def test_accepts_dam_maps_and_grads():
    torch.manual_seed(0)
    dam = DualAttentionModule()
    f1 = torch.randn(2, 3, 4, 4, requires_grad=True)
    f2 = torch.randn(2, 3, 4, 4)
    m1, m2 = dam(f1), dam(f2)
    loss = DADSelfLoss()(m1, m2)
    expected = (m1.dual - m2.dual).abs().mean()
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert f1.grad.abs().sum() > 0
    assert DADSelfLoss()(m1, m1).item() == 0


def test_shape_errors():
    loss = DADSelfLoss()
    with pytest.raises(ValueError, match='differ in shape'):
        loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r'\(B, 2C, N\)'):
        loss(torch.zeros(2, 3), torch.zeros(2, 3))
