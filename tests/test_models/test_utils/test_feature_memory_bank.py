import io

import pytest
import torch
import torch.nn as nn

import mmseg_sfda.models.utils.feature_memory_bank as fmb
from mmseg.registry import MODELS
from mmseg_sfda.models.utils.feature_memory_bank import FeatureMemoryBank


def _f(*rows):
    return torch.tensor(rows, dtype=torch.float)


def test_fifo_wrap_around():
    bank = FeatureMemoryBank(dim=2, size=3, class_ids=[4, 7])
    assert bank.features.shape == (2, 3, 2)
    assert bank.is_empty(4) and not bank.is_full(4)
    bank.update(4, _f([1, 1], [2, 2]))
    assert bank.num_stored(4) == 2 and bank.is_empty(7)
    assert bank.ptr.tolist() == [2, 0]
    bank.update(4, _f([3, 3], [4, 4]))  # [4, 4] overwrites the oldest
    assert bank.is_full(4) and bank.ptr.tolist() == [4, 0]  # writes so far
    torch.testing.assert_close(bank.features[0], _f([4, 4], [2, 2], [3, 3]))
    # more than `size` at once: only the last 3, written in FIFO order
    bank.update(4, _f([5, 5], [6, 6], [7, 7], [8, 8]))
    torch.testing.assert_close(bank.features[0], _f([7, 7], [8, 8], [6, 6]))
    assert bank.ptr.tolist() == [8, 0] and bank.num_written(4) == 8
    bank.update(4, _f([9, 9]))
    torch.testing.assert_close(bank.stored(4), _f([7, 7], [8, 8], [9, 9]))
    assert bank.is_empty(7)  # other classes untouched


def test_full_means_more_than_size_writes_as_in_sim_code():
    """SIM's code matches a class only when ``ptr / w > 1``: every slot
    filled is not enough, one more write is needed."""
    bank = FeatureMemoryBank(dim=1, size=2, class_ids=[0, 1])
    bank.update(0, _f([1], [2]))
    assert bank.num_stored(0) == 2 and not bank.is_full(0)
    bank.update(0, _f([3]))
    assert bank.num_written(0) == 3 and bank.is_full(0)
    bank.update(1, _f([1], [2], [3]))  # one update of size + 1 counts too
    assert bank.is_full(1)
    bank.reset()
    assert bank.num_written(0) == 0 and not bank.is_full(0)


def test_old_checkpoints_load_with_a_write_count():
    """Checkpoints from before the write count stored ``ptr`` as the next slot
    (< size); a filled row of those loads as size + ptr writes."""
    old = FeatureMemoryBank(dim=1, size=2, class_ids=[0, 1, 2])
    old.update(0, _f([1], [2], [3]))  # old layout: ptr 1, all slots valid
    old.update(1, _f([4]))  # old and new layout: ptr 1, one slot valid
    state = old.state_dict()
    state['ptr'] = torch.tensor([1, 1, 0])
    new = FeatureMemoryBank(dim=1, size=2, class_ids=[0, 1, 2])
    new.load_state_dict(state)
    assert new.ptr.tolist() == [3, 1, 0]
    assert new.is_full(0) and not new.is_full(1) and new.is_empty(2)
    assert set(new.state_dict()) == {'features', 'valid', 'ptr'}
    new.update(0, _f([5]))  # FIFO continues at slot 1
    torch.testing.assert_close(new.features[0], _f([3], [5]))


def test_update_many_splits_by_class_in_order():
    bank = FeatureMemoryBank(dim=1, size=2, num_classes=3)
    bank.update_many(torch.tensor([2, 0, 2, 2]), _f([1], [2], [3], [4]))
    torch.testing.assert_close(bank.stored(2), _f([4], [3]))
    torch.testing.assert_close(bank.stored(0), _f([2]))
    assert bank.is_empty(1)
    bank.update(1, torch.zeros(0, 1))  # empty update is a no-op
    assert bank.is_empty(1)


def test_nearest_l1_vs_l2_and_ignores_empty_slots():
    bank = FeatureMemoryBank(dim=2, size=4, class_ids=[0])
    bank.update(0, _f([2, 2], [0, 3]))  # two slots stay empty (zeros)
    q = _f([0, 0], [2, 1.5])
    # L1 from (0,0): 4 vs 3 -> (0,3); L2: 2.83 vs 3 -> (2,2)
    torch.testing.assert_close(bank.nearest(0, q), _f([0, 3], [2, 2]))
    torch.testing.assert_close(bank.nearest(0, q, p=2), _f([2, 2], [2, 2]))
    out = bank.nearest(0, q.requires_grad_())
    assert not out.requires_grad


def test_errors():
    bank = FeatureMemoryBank(dim=2, size=2, class_ids=[3])
    with pytest.raises(ValueError, match='class 5 has no bank'):
        bank.update(5, _f([1, 1]))
    with pytest.raises(ValueError, match='empty'):
        bank.nearest(3, _f([1, 1]))
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        bank.update(3, _f([1, 1, 1]))
    with pytest.raises(ValueError, match='integer'):
        bank.update_many(torch.tensor([3.]), _f([1, 1]))
    with pytest.raises(ValueError, match='size'):
        FeatureMemoryBank(dim=2, size=0, num_classes=2)
    with pytest.raises(ValueError, match='num_classes'):
        FeatureMemoryBank(dim=2)
    with pytest.raises(ValueError, match='distinct'):
        FeatureMemoryBank(dim=2, class_ids=[1, 1])


def test_state_dict_round_trip_restores_bank():
    parent = nn.Module()
    parent.bank = FeatureMemoryBank(dim=3, size=2, class_ids=[1, 5])
    parent.bank.update(5, torch.randn(3, 3))  # 3 > size writes: full
    parent.bank.update(1, torch.randn(1, 3))
    buf = io.BytesIO()
    torch.save(parent.state_dict(), buf)
    assert {'bank.features', 'bank.valid',
            'bank.ptr'} <= set(parent.state_dict())
    fresh = nn.Module()
    fresh.bank = FeatureMemoryBank(dim=3, size=2, class_ids=[1, 5])
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf))
    for name in ('features', 'valid', 'ptr'):
        assert torch.equal(getattr(fresh.bank, name),
                           getattr(parent.bank, name))
    assert fresh.bank.num_stored(1) == 1 and fresh.bank.is_full(5)
    # FIFO continues where it stopped
    fresh.bank.update(5, _f([9, 9, 9]))
    parent.bank.update(5, _f([9, 9, 9]))
    assert torch.equal(fresh.bank.features, parent.bank.features)


def test_registry_build():
    bank = MODELS.build(
        dict(type='FeatureMemoryBank', dim=4, size=50, num_classes=19))
    assert isinstance(bank, FeatureMemoryBank)
    assert bank.features.shape == (19, 50, 4)


class _FakeTwoRanks:
    """Rank 0 of a 2-process group whose rank 1 contributes `other`."""

    def __init__(self, other_ids, other_feats):
        self.other_ids, self.other_feats = other_ids, other_feats

    @staticmethod
    def get_world_size():
        return 2

    def all_gather(self, data):
        n = self.other_feats.shape[0]
        if data.dtype == torch.long:  # the counts
            return [data, torch.tensor([n])]
        other = torch.cat([self.other_feats, self.other_ids[:, None].float()],
                          1)
        pad = data.shape[0] - n
        return [data, torch.cat([other, other.new_zeros(pad, data.shape[1])])]


def test_update_gathers_all_ranks_in_rank_order(monkeypatch):
    fake = _FakeTwoRanks(torch.tensor([1, 0]), _f([7, 7], [8, 8]))
    monkeypatch.setattr(fmb, 'dist', fake)
    bank = FeatureMemoryBank(dim=2, size=4, num_classes=2)
    bank.update_many(torch.tensor([1, 1, 0]), _f([1, 1], [2, 2], [3, 3]))
    torch.testing.assert_close(bank.stored(1), _f([1, 1], [2, 2], [7, 7]))
    torch.testing.assert_close(bank.stored(0), _f([3, 3], [8, 8]))
    # a rank with nothing to store still takes part and receives the rest
    bank2 = FeatureMemoryBank(dim=2, size=4, num_classes=2)
    bank2.update(0, torch.zeros(0, 2))
    torch.testing.assert_close(bank2.stored(0), _f([8, 8]))
    torch.testing.assert_close(bank2.stored(1), _f([7, 7]))
