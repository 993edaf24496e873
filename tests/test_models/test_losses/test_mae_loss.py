import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses import MAELoss


def test_hand_computed():
    # B=2, C=2, H=1, W=2.
    pred = torch.tensor([[[[1., 2.]], [[0., 0.]]],
                         [[[0., 0.]], [[0., 0.]]]])
    target = torch.tensor([[[[0., 0.]], [[0., 4.]]],
                           [[[1., 1.]], [[1., 1.]]]])
    # |diff| sums: image 0: 1+2+0+4 = 7, image 1: 4
    # paper: mean_b (sum / C) = (7/2 + 4/2) / 2 = 2.75
    assert MAELoss()(pred, target).item() == pytest.approx(2.75)
    # DFAD: mean over all 8 elements = 11/8
    dfad = MAELoss(reduction='dfad_mean', loss_weight=2.)(pred, target)
    assert dfad.item() == pytest.approx(2 * 11 / 8)


def test_ratio_is_hw_and_grads_flow_to_both():
    torch.manual_seed(0)
    pred = torch.randn(3, 4, 5, 6, requires_grad=True)
    target = torch.randn(3, 4, 5, 6, requires_grad=True)
    paper = MAELoss()(pred, target)
    dfad = MAELoss(reduction='dfad_mean')(pred, target)
    assert paper.item() == pytest.approx(dfad.item() * 5 * 6, rel=1e-5)
    paper.backward()
    assert pred.grad.abs().sum() > 0 and target.grad.abs().sum() > 0


def test_errors_and_registry():
    loss = MODELS.build(dict(type='MAELoss'))
    assert loss.loss_name == 'loss_mae'
    with pytest.raises(ValueError, match='same shape'):
        loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='reduction'):
        MAELoss(reduction='sum')
