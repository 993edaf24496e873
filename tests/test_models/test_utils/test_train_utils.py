"""Training helpers: parameter freezing that restores flags, deferred BN updates,
borrowed BN statistics."""
import copy

import pytest
import torch
from torch import nn

from mmseg_sfda.models.utils import (DeferredBNUpdate, borrowed_bn_statistics,
                                     frozen_bn_statistics, parameters_frozen)


def small_net(momentum=0.1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=momentum),
                         nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2, momentum=momentum))


def batches():
    gen = torch.Generator().manual_seed(1)
    source = torch.randn(3, 3, 8, 8, generator=gen) * 2 + 1
    target = torch.randn(3, 3, 8, 8, generator=gen) - 0.5
    return source, target


def running(net):
    return [(bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked))
            for bn in net.modules() if isinstance(bn, nn.BatchNorm2d)]


def assert_same_stats(a, b):
    for (ma, va, na), (mb, vb, nb) in zip(a, b):
        torch.testing.assert_close(ma, mb)
        torch.testing.assert_close(va, vb)
        assert na == nb


def test_parameters_frozen_restores_each_flag():
    net = small_net()
    net[0].weight.requires_grad_(False)  # frozen on purpose by a config
    with parameters_frozen(net):
        assert not any(p.requires_grad for p in net.parameters())
    assert not net[0].weight.requires_grad
    assert net[0].bias.requires_grad and net[3].weight.requires_grad


def test_parameters_frozen_restores_on_error():
    net = small_net()
    net[1].bias.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with parameters_frozen(net):
            raise RuntimeError('boom')
    assert [p.requires_grad for p in net.parameters()] == \
        [True, True, True, False, True, True, True, True]


@pytest.mark.parametrize('momentum', [0.1, None])
def test_deferred_update_equals_the_other_order(momentum):
    """Target pass recorded, source pass, apply == source pass, then target pass."""
    source, target = batches()
    reference = small_net(momentum).train()
    reference(source)
    reference(target)
    net = small_net(momentum).train()
    deferred = DeferredBNUpdate(net)
    with deferred.record():
        out_t = net(target)
    assert_same_stats(running(net), running(small_net(momentum)))  # untouched so far
    net(source)
    deferred.apply()
    assert_same_stats(running(net), running(reference))
    torch.testing.assert_close(out_t, small_net(momentum).train()(target))  # batch stats


def test_deferred_update_with_frozen_source_is_the_target_update_alone():
    source, target = batches()
    reference = small_net().train()
    reference(target)
    net = small_net().train()
    deferred = DeferredBNUpdate(net)
    with deferred.record():
        net(target)
    with frozen_bn_statistics(net):
        net(source)
    deferred.apply()
    assert_same_stats(running(net), running(reference))


def test_deferred_update_skips_eval_mode_layers():
    _, target = batches()
    net = small_net().eval()
    before = running(net)
    deferred = DeferredBNUpdate(net)
    with deferred.record():
        net(target)
    deferred.apply()
    assert_same_stats(running(net), before)


def test_borrowed_statistics_score_like_the_donor_and_restore():
    source, _ = batches()
    donor = small_net().train()
    for _ in range(3):
        donor(source + 0.3)  # source-like running statistics
    donor.eval()
    net = copy.deepcopy(donor).train()
    with torch.no_grad():
        net(source - 2)  # its own (different) running statistics
    own = running(net)
    with borrowed_bn_statistics(net, donor):
        out = net(source)
        assert not net[1].training
    torch.testing.assert_close(out, donor(source))
    out.sum().backward()  # buffers swapped by reference: backward still works
    assert net[0].weight.grad is not None
    assert_same_stats(running(net), own)
    assert net[1].training and net[4].training


def test_borrowed_statistics_need_matching_layers():
    with pytest.raises(KeyError, match='running statistics'):
        with borrowed_bn_statistics(small_net(), nn.Sequential(nn.Conv2d(3, 4, 1))):
            pass
