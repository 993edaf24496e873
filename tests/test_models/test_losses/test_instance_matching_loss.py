import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.utils.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.losses.instance_matching_loss import InstanceMatchingLoss
from mmseg_sfda.models.utils.sim_features import thing_instance_features


def _f(*rows):
    return torch.tensor(rows, dtype=torch.float)


def _bank():
    bank = FeatureMemoryBank(dim=2, size=2, class_ids=[11, 12, 13])
    # full = more than size writes (SIM code: ptr > z*w); twice keeps the slots
    bank.update(11, _f([0, 0], [10, 10]).repeat(2, 1))
    bank.update(12, _f([5, 5], [5, 5]).repeat(2, 1))
    bank.update(13, _f([1, 1]))  # not full
    return bank


def test_thing_instance_features_hand_values():
    feat = torch.arange(16, dtype=torch.float).view(1, 1, 4, 4)
    feat = torch.cat([feat, -feat]).requires_grad_()  # B = 2
    label = torch.zeros(2, 4, 4, dtype=torch.long)  # 0 = stuff
    label[0, 0, 0:2] = 11  # values 0, 1 -> mean 0.5
    label[0, 2:4, 2:4] = 11  # 10, 11, 14, 15 -> 12.5 (largest first)
    label[0, 3, 0] = 12  # 12
    label[1, 1, 1] = 11  # -5
    label[1, 3, 3] = 255
    feats, cls, img = thing_instance_features(feat, label, [11, 12])
    assert cls.tolist() == [11, 11, 12, 11]
    assert img.tolist() == [0, 0, 0, 1]
    torch.testing.assert_close(feats, _f([12.5], [.5], [12.], [-5.]))
    feats.sum().backward()
    assert feat.grad[0, 0, 0, 0] == .5 and feat.grad[1, 0, 1, 1] == 1
    # max_per_class, and pred keeps only correctly classified pixels
    top1, _, _ = thing_instance_features(feat, label, [11], max_per_class=1)
    torch.testing.assert_close(top1, _f([12.5], [-5.]))
    pred = label.clone()
    pred[0, 2:4, 2:4] = 0  # the large car is missed
    got, _, _ = thing_instance_features(feat, label, [11], pred=pred)
    torch.testing.assert_close(got, _f([.5], [-5.]))
    # classifier re-prediction filter (a sign classifier: >0 -> 11 else 12)
    def clf(x):
        out = torch.zeros(len(x), 13)
        out[:, 11], out[:, 12] = x[:, 0, 0, 0], -x[:, 0, 0, 0]
        return out

    kept, cls3, img3 = thing_instance_features(feat, label, [11, 12],
                                               classifier=clf)
    assert cls3.tolist() == [11, 11] and img3.tolist() == [0, 0]
    torch.testing.assert_close(kept, _f([12.5], [.5]))


def test_no_instance_keeps_graph():
    feat = torch.randn(1, 2, 3, 3, requires_grad=True)
    label = torch.zeros(1, 3, 3, dtype=torch.long)
    feats, cls, img = thing_instance_features(feat, label, [11])
    assert feats.shape == (0, 2) and cls.numel() == img.numel() == 0
    loss = InstanceMatchingLoss()(feats, cls, _bank(), img, 1)
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    assert torch.equal(feat.grad, torch.zeros_like(feat))


def test_loss_hand_values():
    # image 0: class 11 L1 {2, 6} (mean 4), class 12 L1 1; image 1: 11 -> 2
    feats = _f([1, 1], [7, 7], [5, 6], [9, 9]).requires_grad_()
    cls = torch.tensor([11, 11, 12, 11])
    img = torch.tensor([0, 0, 0, 1])
    bank = _bank()
    loss = InstanceMatchingLoss()(feats, cls, bank, img)
    # /dim: image 0 -> (1 + 3) / 2 + .5 = 2.5; image 1 -> 1; mean over 2
    assert loss.item() == pytest.approx(1.75)
    loss.backward()
    nearest = _f([0, 0], [10, 10], [5, 5], [10, 10])
    per_group = torch.tensor([2., 2., 1., 1.])[:, None]
    torch.testing.assert_close(
        feats.grad,
        torch.sign(feats.detach() - nearest) / 2 / per_group / 2)
    mean = InstanceMatchingLoss(reduction='mean')(feats, cls, bank, img)
    assert mean.item() == pytest.approx((1 + 3 + .5 + 1) / 4)
    raw = InstanceMatchingLoss(normalize_by_dim=False,
                               loss_weight=.01)(feats, cls, bank, img)
    assert raw.item() == pytest.approx(.01 * 3.5)
    # without image ids everything is one image
    one = InstanceMatchingLoss()(feats, cls, bank)
    assert one.item() == pytest.approx((1 + 3 + 1) / 3 + .5)


def test_unusable_banks_are_skipped():
    bank = _bank()
    feats = _f([3, 1], [1, 1])
    cls = torch.tensor([13, 11])
    # class 13 is not full: only the class-11 instance counts (L1 2 / 2)
    assert InstanceMatchingLoss()(feats, cls, bank).item() == \
        pytest.approx(1.)
    # require_full=False: class 13 matches too (L1 2 / 2), own group
    assert InstanceMatchingLoss(require_full=False)(feats, cls,
                                                    bank).item() == \
        pytest.approx(2.)


def test_end_to_end_gradient_reaches_features():
    torch.manual_seed(0)
    feat = torch.randn(2, 4, 6, 6, requires_grad=True)
    label = torch.zeros(2, 12, 12, dtype=torch.long)
    label[:, :4, :4] = 11
    label[:, 8:, 6:] = 11
    bank = FeatureMemoryBank(dim=4, size=3, class_ids=[11])
    with torch.no_grad():
        src, src_cls, _ = thing_instance_features(feat + 1, label, [11])
    bank.update_many(src_cls, src)  # 4 > size writes: full
    feats, cls, img = thing_instance_features(feat, label, [11])
    loss = InstanceMatchingLoss()(feats, cls, bank, img, num_images=2)
    loss.backward()
    assert loss.item() > 0 and feat.grad.abs().sum() > 0


def test_registry_and_errors():
    loss = MODELS.build(dict(type='InstanceMatchingLoss'))
    assert isinstance(loss, InstanceMatchingLoss)
    assert loss.loss_name == 'loss_instance_matching'
    with pytest.raises(ValueError, match='reduction'):
        InstanceMatchingLoss(reduction='sum')
    with pytest.raises(ValueError, match='image_ids'):
        loss(_f([1, 1]), torch.tensor([11]), _bank(), torch.tensor([0, 0]))
