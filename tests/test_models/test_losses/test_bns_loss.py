import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmseg_sfda.models.losses import BNSLoss


def _frozen_net():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 5, 3, padding=1), nn.BatchNorm2d(5))
    for bn in (net[1], net[4]):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
    net.eval().requires_grad_(False)
    return net


def _np_stats(feat):
    a = feat.detach().double().numpy()
    return a.mean(axis=(0, 2, 3)), a.var(axis=(0, 2, 3))  # biased variance


def _np_reference(net, x, squared=True):
    """Eq. 4 from the BN inputs computed module by module, in numpy."""
    bn1 = net[1]  # applied functionally so the hooks do not record
    with torch.no_grad():
        in1 = net[0](x)
        out1 = F.batch_norm(in1, bn1.running_mean, bn1.running_var,
                            bn1.weight, bn1.bias, eps=bn1.eps)
        in2 = net[3](torch.relu(out1))
    total = 0.
    for feat, bn in ((in1, net[1]), (in2, net[4])):
        mu, var = _np_stats(feat)
        d_mu = mu - bn.running_mean.double().numpy()
        d_var = var - bn.running_var.double().numpy()
        if squared:
            total += (d_mu**2).sum() + (d_var**2).sum()
        else:
            total += np.linalg.norm(d_mu) + np.linalg.norm(d_var)
    return total


@pytest.mark.parametrize('norm', ['squared', 'l2'])
def test_value_against_numpy(norm):
    net = _frozen_net()
    x = torch.randn(2, 3, 6, 5)
    loss = BNSLoss(norm=norm, loss_weight=2.).attach(net)
    assert loss.num_hooked_layers == 2
    net(x)
    expected = 2 * _np_reference(net, x, squared=norm == 'squared')
    assert loss().item() == pytest.approx(expected, rel=1e-4)


def test_grads_reach_generator_and_frozen_model_untouched():
    net = _frozen_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    generator = nn.Linear(8, 3 * 4 * 4)
    z = torch.randn(2, 8, requires_grad=True)
    loss = BNSLoss().attach(net)
    net(generator(z).view(2, 3, 4, 4))
    loss().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert generator.weight.grad.abs().sum() > 0
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k  # bit-identical
    assert all(p.grad is None for p in net.parameters())


def test_records_cleared_and_last_forward_wins():
    net = _frozen_net()
    loss = BNSLoss().attach(net)
    x1, x2 = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4) + 1
    net(x1)
    net(x2)
    assert loss().item() == pytest.approx(_np_reference(net, x2), rel=1e-4)
    with pytest.raises(RuntimeError, match='no statistics recorded'):
        loss()
    loss.detach()
    net(x1)
    with pytest.raises(RuntimeError, match='no model attached'):
        loss()


def test_no_batchnorm_raises():
    with pytest.raises(ValueError, match='no BatchNorm'):
        BNSLoss().attach(nn.Sequential(nn.Conv2d(3, 3, 1), nn.ReLU()))


def test_training_mode_bn_raises():
    net = _frozen_net().train()
    BNSLoss().attach(net)
    with pytest.raises(RuntimeError, match='eval mode'):
        net(torch.randn(2, 3, 4, 4))


def test_registry_and_bad_norm():
    loss = MODELS.build(dict(type='BNSLoss', norm='l2'))
    assert loss.norm == 'l2' and loss.loss_name == 'loss_bns'
    with pytest.raises(ValueError, match='norm'):
        BNSLoss(norm='l1')
