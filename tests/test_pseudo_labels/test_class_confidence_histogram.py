"""ClassConfidenceHistogram: constant-memory per-class order statistics."""
import io

import numpy as np
import pytest
import torch
from mmengine import dist

from mmseg_sfda.pseudo_labels.class_confidence_histogram import \
    ClassConfidenceHistogram

C = 4


def random_probs(seed, b=2, h=12, w=10, num_classes=C, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, num_classes, h, w, generator=gen) * scale
    return logits.softmax(dim=1)


def flat_conf_label(prob, mask=None):
    conf, label = prob.max(dim=1)
    if mask is not None:
        conf, label = conf[mask], label[mask]
    return conf.flatten().double().numpy(), label.flatten().numpy()


def filled(seeds=(0, 1, 2), num_bins=1000):
    hist = ClassConfidenceHistogram(C, num_bins)
    confs, labels = [], []
    for seed in seeds:
        prob = random_probs(seed)
        hist.update(prob)
        conf, label = flat_conf_label(prob)
        confs.append(conf)
        labels.append(label)
    return hist, np.concatenate(confs), np.concatenate(labels)


@pytest.mark.parametrize('num_bins', [1000, 37])
def test_quantile_within_one_bin_of_numpy_lower(num_bins):
    hist, conf, label = filled(num_bins=num_bins)
    for c in range(C):
        x = conf[label == c]
        assert hist.count(c) == x.size > 10
        for q in (0.0, 0.1, 0.35, 0.5, 0.9, 1.0):
            exact = np.quantile(x, q, method='lower')
            assert abs(hist.quantile(c, q) - exact) <= hist.bin_width + 1e-9


def test_sorted_value_matches_sort_both_orders_and_pooled():
    hist, conf, label = filled()
    x = np.sort(conf[label == 2])
    for i in (0, 5, x.size // 2, x.size - 1):
        assert abs(hist.sorted_value(i, 2) - x[i]) <= 1e-3 + 1e-9
        assert abs(hist.sorted_value(i, 2, descending=True)
                   - x[::-1][i]) <= 1e-3 + 1e-9
    pooled = np.sort(conf)
    assert hist.count() == pooled.size
    for i in (0, 100, pooled.size - 1):
        assert abs(hist.sorted_value(i) - pooled[i]) <= 1e-3 + 1e-9


def test_interpolation_is_finer_than_bin_edges():
    # 10 bins; 4 values in bin 5 ([0.5, 0.6)): interpolated at 1/8, 3/8, ...
    hist = ClassConfidenceHistogram(1, num_bins=10)
    hist.update(torch.full((1, 1, 1, 4), 0.55))
    values = [hist.sorted_value(i, 0) for i in range(4)]
    np.testing.assert_allclose(values, [0.5125, 0.5375, 0.5625, 0.5875])


def test_bin_placement_and_prob_one_in_last_bin():
    hist = ClassConfidenceHistogram(2, num_bins=10)
    # pixels: class 0 @1.0, class 1 @0.95, class 0 @0.5 (tie -> class 0)
    prob = torch.tensor([[1.0, 0.05, 0.5], [0.0, 0.95, 0.5]]).view(1, 2, 1, 3)
    hist.update(prob)
    expected = torch.zeros(2, 10, dtype=torch.int64)
    expected[0, 9] = 1
    expected[0, 5] = 1
    expected[1, 9] = 1
    assert torch.equal(hist.counts, expected)


def test_valid_mask_excludes_pixels():
    prob = random_probs(3)
    gen = torch.Generator().manual_seed(4)
    mask = torch.rand(prob.shape[0], *prob.shape[2:], generator=gen) > 0.5
    masked = ClassConfidenceHistogram(C)
    masked.update(prob, valid_mask=mask)
    conf, label = flat_conf_label(prob, mask)
    assert masked.count() == int(mask.sum()) < mask.numel()
    for c in range(C):
        x = conf[label == c]
        assert masked.count(c) == x.size
        if x.size:
            assert abs(masked.quantile(c, 0.5)
                       - np.quantile(x, 0.5, method='lower')) <= 1e-3 + 1e-9
    # a class whose only pixel is masked out stays empty
    hist = ClassConfidenceHistogram(2)
    one = torch.tensor([[0.9, 0.2], [0.1, 0.8]]).view(1, 2, 1, 2)
    hist.update(one, valid_mask=torch.tensor([[[True, False]]]))
    assert (hist.count(0), hist.count(1)) == (1, 0)


def test_memory_is_constant():
    hist = ClassConfidenceHistogram(C, num_bins=100)
    counts = hist.counts
    for seed in range(20):
        hist.update(random_probs(seed))
    assert hist.counts is counts
    assert hist.counts.shape == (C, 100)
    assert hist.counts.dtype == torch.int64
    assert hist.count() == 20 * 2 * 12 * 10
    assert hist.state_dict()['counts'].numel() == C * 100


def test_empty_class():
    hist = ClassConfidenceHistogram(3)
    hist.update(torch.tensor([0.7, 0.2, 0.1]).view(1, 3, 1, 1))
    assert hist.count(1) == 0
    with pytest.raises(ValueError, match='no pixels'):
        hist.quantile(1, 0.5)
    with pytest.raises(ValueError, match='out of range'):
        hist.sorted_value(0, 1)
    assert abs(hist.quantile(0, 0.5) - 0.7) <= 1e-3


def test_state_dict_round_trip_weights_only():
    hist, _, _ = filled()
    buf = io.BytesIO()
    torch.save(dict(hist=hist.state_dict()), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)['hist']
    restored = ClassConfidenceHistogram(C)
    restored.load_state_dict(state)
    assert torch.equal(restored.counts, hist.counts)
    assert restored.quantile(1, 0.3) == hist.quantile(1, 0.3)
    with pytest.raises(ValueError, match='num_bins'):
        ClassConfidenceHistogram(C, num_bins=10).load_state_dict(state)
    with pytest.raises(ValueError, match='missing'):
        restored.load_state_dict(dict(num_classes=C, num_bins=1000))


def test_state_dict_is_a_copy():
    hist = ClassConfidenceHistogram(2)
    state = hist.state_dict()
    hist.update(torch.tensor([0.7, 0.3]).view(1, 2, 1, 1))
    assert int(state['counts'].sum()) == 0


def test_all_reduce_sums_counts(monkeypatch):
    hist, _, _ = filled()
    before = hist.counts.clone()
    hist.all_reduce()  # not distributed: no-op
    assert torch.equal(hist.counts, before)
    calls = []

    def fake_all_reduce(data, op='sum', group=None):
        calls.append(op)
        data.mul_(2)  # two ranks holding the same counts

    monkeypatch.setattr(dist, 'all_reduce', fake_all_reduce)
    hist.all_reduce()
    assert calls == ['sum']
    assert torch.equal(hist.counts, 2 * before)


def test_reset():
    hist, _, _ = filled()
    hist.reset()
    assert hist.count() == 0


@pytest.mark.parametrize('kwargs', [dict(num_bins=1), dict(num_bins=0),
                                    dict(num_classes=0)])
def test_bad_construction(kwargs):
    args = dict(num_classes=C, num_bins=10)
    args.update(kwargs)
    with pytest.raises(ValueError):
        ClassConfidenceHistogram(**args)


def test_bad_updates():
    hist = ClassConfidenceHistogram(C)
    with pytest.raises(ValueError, match='shape'):
        hist.update(torch.rand(C, 4, 4))
    with pytest.raises(ValueError, match='shape'):
        hist.update(random_probs(0, num_classes=C + 1))
    with pytest.raises(ValueError, match='valid_mask'):
        hist.update(random_probs(0), valid_mask=torch.ones(2, 12))
    with pytest.raises(ValueError, match='probabilities'):
        hist.update(torch.randn(1, C, 4, 4) * 5)  # logits
    with pytest.raises(ValueError, match='q must'):
        hist.quantile(0, 1.5)
    assert hist.count() == 0
