import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.utils.feature_memory_bank import FeatureMemoryBank
from mmseg_sfda.models.losses.stuff_matching_loss import StuffMatchingLoss
from mmseg_sfda.models.utils.sim_features import stuff_class_means


def _f(*rows):
    return torch.tensor(rows, dtype=torch.float)


def _bank():
    bank = FeatureMemoryBank(dim=2, size=2, num_classes=3)
    # full = more than size writes (SIM code: ptr > w); twice keeps the slots
    bank.update(0, _f([0, 0], [4, 4]).repeat(2, 1))
    bank.update(1, _f([10, 0], [10, 0]).repeat(2, 1))
    bank.update(2, _f([1, 1]))  # not full
    return bank


def test_stuff_class_means_hand_values():
    feat = torch.arange(8, dtype=torch.float).view(1, 2, 2, 2)
    feat = torch.cat([feat, feat + 10]).requires_grad_()  # B = 2
    # image 0: class 0 on the left column, class 1 top right, ignore
    label = torch.tensor([[[0, 1], [0, 255]], [[2, 2], [2, 2]]])
    means, cls, img = stuff_class_means(feat, label, [0, 1])
    assert cls.tolist() == [0, 1] and img.tolist() == [0, 0]
    torch.testing.assert_close(means, _f([1, 5], [1, 5]))
    means.sum().backward()
    assert feat.grad[1].abs().sum() == 0  # image 1 has no stuff class
    # label at 2x resolution is resized (nearest) to the feature size
    up = label.repeat_interleave(2, 1).repeat_interleave(2, 2)
    means_up, cls_up, _ = stuff_class_means(feat, up, [0, 1])
    torch.testing.assert_close(means_up, means)
    assert torch.equal(cls_up, cls)


def test_stuff_class_means_pred_and_classifier():
    feat = torch.arange(8, dtype=torch.float).view(1, 2, 2, 2)
    label = torch.tensor([[[0, 1], [0, 1]]])
    pred = torch.tensor([[[0, 1], [1, 1]]])  # (1, 0) is misclassified
    means, cls, _ = stuff_class_means(feat, label, [0, 1], pred=pred)
    assert cls.tolist() == [0, 1]
    torch.testing.assert_close(means, _f([0, 4], [2, 6]))
    # a classifier that always says class 1 drops the class-0 mean
    always_one = lambda x: torch.tensor([0., 1.]).expand(len(x), 2)  # noqa
    means, cls, img = stuff_class_means(
        feat, label, [0, 1], pred=pred, classifier=always_one)
    assert cls.tolist() == [1] and img.tolist() == [0]
    torch.testing.assert_close(means, _f([2, 6]))
    with pytest.raises(ValueError, match='ignore_index'):
        stuff_class_means(feat, label, [0, 255])
    with pytest.raises(ValueError, match=r'\(B, C, h, w\)'):
        stuff_class_means(feat[0], label, [0])


def test_loss_hand_values():
    # image 0: class 0 q=(1,2) -> nearest (0,0), L1 3; class 1 q=(9,1) -> 2
    # image 1: class 0 q=(4,5) -> nearest (4,4), L1 1
    feats = _f([1, 2], [9, 1], [4, 5]).requires_grad_()
    cls, img = torch.tensor([0, 1, 0]), torch.tensor([0, 0, 1])
    bank = _bank()
    loss = StuffMatchingLoss()(feats, cls, bank, img)
    assert loss.item() == pytest.approx((3 + 2 + 1) / 2 / 2)  # /dim, /B
    loss.backward()
    sign = torch.sign(feats.detach() - _f([0, 0], [10, 0], [4, 4]))
    torch.testing.assert_close(feats.grad, sign / 2 / 2)
    raw = StuffMatchingLoss(normalize_by_dim=False)(feats, cls, bank, img)
    assert raw.item() == pytest.approx(3.)
    mean = StuffMatchingLoss(reduction='mean', loss_weight=.1)(feats, cls,
                                                               bank)
    assert mean.item() == pytest.approx(.1 * (1.5 + 1 + .5) / 3)
    # num_images counts images without any match
    assert StuffMatchingLoss()(feats, cls, bank, img,
                               num_images=4).item() == pytest.approx(.75)


def test_unusable_banks_are_skipped():
    bank = _bank()
    q = _f([3, 1])
    # class 2's bank holds one of two features: skipped unless require_full
    zero = StuffMatchingLoss()(q.requires_grad_(), torch.tensor([2]), bank)
    assert zero.item() == 0 and zero.requires_grad
    zero.backward()
    assert torch.equal(q.grad, torch.zeros_like(q))
    partial = StuffMatchingLoss(require_full=False)(q, torch.tensor([2]),
                                                    bank)
    assert partial.item() == pytest.approx(2 / 2)
    # a class without a bank row and an empty class are skipped too
    small = FeatureMemoryBank(dim=2, size=1, class_ids=[0, 1])
    small.update(0, _f([0, 0]))
    loss = StuffMatchingLoss(require_full=False)(
        _f([1, 1], [5, 5], [7, 7]), torch.tensor([0, 1, 2]), small)
    assert loss.item() == pytest.approx(1.)
    none = torch.zeros(0, dtype=torch.long)
    assert StuffMatchingLoss()(torch.zeros(0, 2), none, bank).item() == 0


def test_registry_and_errors():
    loss = MODELS.build(dict(type='StuffMatchingLoss', loss_weight=0.01))
    assert isinstance(loss, StuffMatchingLoss)
    assert loss.loss_name == 'loss_stuff_matching'
    with pytest.raises(ValueError, match='reduction'):
        StuffMatchingLoss(reduction='sum')
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        loss(_f([1, 2, 3]), torch.tensor([0]), _bank())
    with pytest.raises(ValueError, match='num_images'):
        loss(_f([1, 2]), torch.tensor([0]), _bank(), num_images=0)
