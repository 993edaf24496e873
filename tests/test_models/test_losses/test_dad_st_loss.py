import numpy as np
import pytest
import torch

from mmseg_sfda.models.utils import DualAttentionMaps, DualAttentionModule
from mmseg_sfda.models.losses import DADTransferLoss


def _maps(batch, n, c, seed):
    g = torch.Generator().manual_seed(seed)
    s = torch.softmax(torch.randn(batch, n, n, generator=g), -1)
    r = torch.softmax(torch.randn(batch, c, c, generator=g), -1)
    return DualAttentionMaps(s, r, torch.zeros(batch, 2 * c, n))


def _np_row_kl(p, q):
    p, q = p.double().numpy().mean(0), q.double().numpy().mean(0)
    return (p * np.log(p / q)).sum(axis=1).mean()


def test_against_numpy_unpaired_batches():
    fake, target = _maps(2, 5, 3, seed=0), _maps(3, 5, 3, seed=1)
    expected = _np_row_kl(fake.spatial, target.spatial) + \
        _np_row_kl(fake.channel, target.channel)
    loss = DADTransferLoss(loss_weight=0.5)(fake, target)
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-5)
    # KL(P || Q), not KL(Q || P)
    reverse = _np_row_kl(target.spatial, fake.spatial) + \
        _np_row_kl(target.channel, fake.channel)
    assert abs(loss.item() - 0.5 * reverse) > 1e-4


def test_hand_computed_single_row():
    # one row, P = [1/2, 1/2], Q = [1/4, 3/4]:
    # KL = 1/2 ln(2) + 1/2 ln(2/3) = 1/2 ln(4/3); R identical -> 0
    p = DualAttentionMaps(torch.tensor([[[.5, .5]]]), torch.ones(1, 1, 1),
                          torch.zeros(1))
    q = DualAttentionMaps(torch.tensor([[[.25, .75]]]), torch.ones(1, 1, 1),
                          torch.zeros(1))
    assert DADTransferLoss()(p, q).item() == pytest.approx(0.5 * np.log(4 / 3))


def test_with_dam_pooled_target_features():
    torch.manual_seed(0)
    dam = DualAttentionModule()
    fake_feat = torch.randn(2, 4, 4, 2, requires_grad=True)
    target_feat = torch.randn(3, 4, 8, 4)
    loss_fn = DADTransferLoss()
    with pytest.raises(ValueError, match='output_size'):
        loss_fn(dam(fake_feat), dam(target_feat))
    loss = loss_fn(dam(fake_feat), dam(target_feat, output_size=(4, 2)))
    assert torch.isfinite(loss) and loss.item() >= 0
    loss.backward()
    assert fake_feat.grad.abs().sum() > 0
    same = dam(fake_feat)
    assert loss_fn(same, same).item() == pytest.approx(0., abs=1e-6)


def test_type_error():
    with pytest.raises(TypeError, match='DualAttentionMaps'):
        DADTransferLoss()(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2))
