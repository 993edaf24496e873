"""Pseudo-label policies (CBST, DAS3, SIM/PixIntraDA): thresholds and selection."""
import math

import numpy as np
import pytest
import torch

from mmseg_sfda.pseudo_labels.class_confidence_histogram import ClassConfidenceHistogram
from mmseg_sfda.pseudo_labels.negative_labels import negative_labels
from mmseg_sfda.pseudo_labels.policies import (BasePseudoLabelPolicy, ClassPortionPolicy,
                                               MedianPolicy,
                                               class_portion_thresholds,
                                               global_portion_threshold,
                                               median_thresholds, self_paced_portion,
                                               top_k_thresholds)
from mmseg_sfda.pseudo_labels.spatial_priors import apply_spatial_prior
from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES

C = 4
TOL = 1e-3 + 1e-9  # one bin at the default 1000 bins


def random_probs(seed, b=2, h=16, w=12, num_classes=C):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(b, num_classes, h, w, generator=gen) * 3).softmax(1)


def pixels(confs, classes, num_classes=3):
    """(1, C, 1, N) probs: pixel i has max prob confs[i] on classes[i]."""
    n = len(confs)
    prob = torch.empty(num_classes, n)
    for i, (v, c) in enumerate(zip(confs, classes)):
        prob[:, i] = (1 - v) / (num_classes - 1)
        prob[c, i] = v
    return prob.view(1, num_classes, 1, n)


@pytest.fixture(scope='module')
def data():
    """A histogram with class 3 never predicted, and its exact data."""
    probs = [random_probs(s)[:, :3] for s in range(3)]
    probs = [
        torch.cat([p / p.sum(1, keepdim=True),
                   torch.zeros_like(p[:, :1])], dim=1) for p in probs
    ]
    hist = ClassConfidenceHistogram(C)
    for p in probs:
        hist.update(p)
    prob = torch.cat(probs)
    conf, label = prob.max(1)
    return hist, prob, conf.flatten().double().numpy(), label.flatten().numpy()


def select(prob, thr):
    """The hook's arg-max rule (every policy's ``select``) on (B, C, H, W) probs."""
    conf, label = prob.max(1)
    policy = PSEUDO_LABEL_POLICIES.build(dict(type='class_portion'))
    return torch.from_numpy(policy.select(label.numpy().astype(np.uint8), conf.numpy(),
                                          thr.numpy()).astype(np.int64))


def cbst_code_threshold(x, portion, rounding='floor'):
    """CBST released code: sort descending, conf[floor(p*n) - 1], else 1."""
    x = np.sort(x)[::-1]
    n = x.size
    r = math.floor(portion * n + 1e-9) if rounding == 'floor' else round(
        portion * n)
    return 1.0 if r == 0 else x[r - 1]


@pytest.mark.parametrize('rounding', ['floor', 'round'])
@pytest.mark.parametrize('portion', [0.2, 0.35, 0.5, 1.0])
def test_class_portion_thresholds_match_sort_reference(data, portion,
                                                       rounding):
    hist, _, conf, label = data
    thr = class_portion_thresholds(hist, portion, rounding=rounding)
    assert thr.shape == (C, ) and thr.dtype == torch.float32
    for c in range(3):
        exact = cbst_code_threshold(conf[label == c], portion, rounding)
        assert abs(float(thr[c]) - exact) <= TOL
    assert thr[3] == 1.0  # class never predicted


def test_floor_vs_round_rank_hand_checked():
    # 10 bins, one value per bin centre -> exact; class 0 has 5 pixels
    hist = ClassConfidenceHistogram(3, num_bins=10)
    hist.update(pixels([0.95, 0.85, 0.75, 0.65, 0.55], [0] * 5))
    # p = 0.5: floor(2.5) = 2 -> 2nd largest; round(2.5) = 2 (half-even)
    # p = 0.3: floor(1.5) = 1 -> largest;     round(1.5) = 2
    assert class_portion_thresholds(hist, 0.5)[0] == pytest.approx(0.85)
    assert class_portion_thresholds(hist, 0.3)[0] == pytest.approx(0.95)
    assert class_portion_thresholds(
        hist, 0.3, rounding='round')[0] == pytest.approx(0.85)
    # p = 0.1: floor(0.5) = 0 -> nothing selected -> 1.0
    assert class_portion_thresholds(hist, 0.1)[0] == 1.0
    assert class_portion_thresholds(hist, 1.0)[0] == pytest.approx(0.55)


def test_exact_thresholds_select_floor_pn_pixels(data):
    """>= keeps exactly floor(p * N_c) pixels of each class."""
    _, prob, conf, label = data
    portion = 0.35
    exact = torch.tensor([
        cbst_code_threshold(conf[label == c], portion) for c in range(3)
    ] + [1.0], dtype=torch.float32)
    # thresholds are float32 copies of float32 confidences: exact ties
    labels = select(prob, exact)
    for c in range(3):
        n_c = int((label == c).sum())
        assert int((labels == c).sum()) == math.floor(portion * n_c + 1e-9)


def test_histogram_thresholds_select_about_portion(data):
    hist, prob, _, label = data
    thr = class_portion_thresholds(hist, 0.5)
    labels = select(prob, thr)
    for c in range(3):
        n_c = int((label == c).sum())
        assert abs(int((labels == c).sum()) - n_c // 2) <= 3


def test_global_portion_threshold(data):
    hist, _, conf, _ = data
    thr = global_portion_threshold(hist, 0.2)
    assert thr.shape == (C, )
    assert torch.all(thr == thr[0])
    assert abs(float(thr[0]) - cbst_code_threshold(conf, 0.2)) <= TOL
    # differs from the class-wise policy on this data
    assert not torch.allclose(thr[:3], class_portion_thresholds(hist, 0.2)[:3])


def test_top_k_is_class_level_top_k_percent(data):
    hist = ClassConfidenceHistogram(3, num_bins=100)
    # 20 pixels of class 1 at 0.405, 0.415, ..., 0.595 (bin centres)
    values = [0.405 + 0.01 * i for i in range(20)]
    hist.update(pixels(values, [1] * 20))
    thr = top_k_thresholds(hist)  # K = 0.65: 13 largest kept
    assert thr[1] == pytest.approx(values[::-1][12])
    assert thr[0] == 1.0 and thr[2] == 1.0
    full, _, _, _ = data
    assert torch.equal(top_k_thresholds(full, 0.4),
                       class_portion_thresholds(full, 0.4))


def test_median_thresholds(data):
    hist, _, conf, label = data
    thr = median_thresholds(hist, cap=1.0)
    for c in range(3):
        x = np.sort(conf[label == c])
        assert abs(float(thr[c]) - x[int(np.round(x.size * 0.5))]) <= TOL
    assert thr[3] == 1.0  # empty class: not 0 (PixIntraDA)
    assert median_thresholds(hist, empty_value=0.0)[3] == 0.0  # SIM code
    capped = median_thresholds(hist, cap=0.5)
    assert torch.equal(capped[:3], torch.clamp(thr[:3], max=0.5))
    assert capped[3] == 1.0  # empty_value is not capped
    assert (thr[:3] > 0.5).any()  # so the cap is exercised


def test_median_is_upper_median_and_capped_at_0_9():
    hist = ClassConfidenceHistogram(3, num_bins=10)
    hist.update(pixels([0.45, 0.55, 0.65, 0.75], [0] * 4))  # even: index 2
    hist.update(pixels([0.95, 0.95, 0.95], [2] * 3))
    thr = median_thresholds(hist)
    assert thr[0] == pytest.approx(0.65)
    assert thr[1] == 1.0
    assert thr[2] == pytest.approx(0.9)


def test_self_paced_portion():
    got = [self_paced_portion(r) for r in range(9)]
    assert got == [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.5, 0.5]
    assert self_paced_portion(2, start=0.1, step=0.2, max_portion=1.0) == 0.5
    with pytest.raises(ValueError, match='round_idx'):
        self_paced_portion(-1)
    with pytest.raises(ValueError, match='step'):
        self_paced_portion(1, step=-0.1)


def test_select_hand_checked_argmax_and_cbst_eq8():
    # pixels (C=3):  a       b       c        d
    prob = torch.tensor([[0.70, 0.10, 0.30, 0.20],
                         [0.20, 0.50, 0.25, 0.40],
                         [0.10, 0.40, 0.45, 0.40]]).view(1, 3, 2, 2)
    thr = torch.tensor([0.7, 0.6, 0.4])
    # argmax: a->0 (0.7 >= 0.7), b->1 (0.5 < 0.6), c->2 (0.45 >= 0.4),
    # d: tie 1/2 -> 1 (0.4 < 0.6)
    assert select(prob, thr).tolist() == [[[0, 255], [2, 255]]]
    # CBST Eq. 8: argmax of p / t = a:(1, .33, .25) b:(.14, .83, 1.0)
    # c:(.43, .42, 1.125) d:(.29, .67, 1.0) -> b and d become class 2
    eq8 = PSEUDO_LABEL_POLICIES.build(dict(type='class_portion', normalize=True))
    assert eq8.uses_probabilities
    assert eq8.select_probabilities(prob[0], thr).tolist() == [[0, 2], [2, 2]]
    assert not ClassPortionPolicy().uses_probabilities
    with pytest.raises(ValueError, match='> 0'):
        eq8.select_probabilities(prob[0], torch.tensor([0.7, 0.0, 0.4]))
    # an arg-max policy given every score applies its arg-max rule (same labels as above)
    top_k = PSEUDO_LABEL_POLICIES.build(dict(type='top_k'))
    assert top_k.select_probabilities(prob[0], thr).tolist() == [
        [0, 255], [2, 255]]


def test_base_policy_is_abstract():
    with pytest.raises(TypeError, match='class_thresholds'):
        BasePseudoLabelPolicy()


def test_pixintrada_any_class_rule_hand_checked():
    # pixels (C=3):  a      b      c      d
    prob = torch.tensor([[0.50, 0.10, 0.40, 0.34],
                         [0.30, 0.46, 0.35, 0.33],
                         [0.20, 0.44, 0.25, 0.33]]).view(1, 3, 2, 2)
    thr = torch.tensor([0.6, 0.5, 0.2])  # alpha * t_k
    # arg-max rule: a 0.5 < 0.6, b 0.46 < 0.5, c 0.4 < 0.6, d 0.34 < 0.6
    assert select(prob, thr).tolist() == [[[255, 255], [255, 255]]]
    # Eq. 2-3: easy if any class passes, labelled with the best passing class: class 2
    # passes everywhere (0.2, 0.44, 0.25, 0.33 >= 0.2) and is the only one
    any_rule = PSEUDO_LABEL_POLICIES.build(dict(type='median', rule='any', scale=0.85))
    assert any_rule.uses_probabilities and any_rule.scale == 0.85
    assert any_rule.select_probabilities(prob[0], thr).tolist() == [[2, 2], [2, 2]]
    # none passes -> hard (255); two pass -> the larger score of the two
    thr = torch.tensor([0.45, 0.9, 0.9])
    assert any_rule.select_probabilities(prob[0], thr).tolist() == [[0, 255], [255, 255]]
    thr = torch.tensor([0.3, 0.3, 0.9])
    assert any_rule.select_probabilities(prob[0], thr).tolist() == [[0, 1], [0, 0]]
    with pytest.raises(ValueError, match='rule'):
        MedianPolicy(rule='max')


def test_policies_registered_under_their_config_names():
    hist = ClassConfidenceHistogram(3, num_bins=10)
    hist.update(pixels([0.95, 0.85, 0.75, 0.65, 0.55], [0] * 5))
    for cfg, want in ((dict(type='class_portion', portion=0.4), 0.85),
                      (dict(type='class_portion', portion=dict(start=0.2, step=0.2)), 0.85),
                      (dict(type='global_portion', portion=0.4), 0.85),
                      (dict(type='top_k', k=0.4), 0.85),
                      (dict(type='median', scale=0.5), 0.375),
                      (dict(type='all'), 0.0)):
        thr = PSEUDO_LABEL_POLICIES.build(cfg).thresholds(hist, 1)
        assert thr.dtype == torch.float32 and float(thr[0]) == pytest.approx(want)
    with pytest.raises(ValueError, match='scale'):
        PSEUDO_LABEL_POLICIES.build(dict(type='median', scale=1.5))


def test_select_with_spatial_prior():
    prob = torch.tensor([[0.6, 0.6], [0.4, 0.4]]).view(1, 2, 1, 2)
    # left pixel: prior favours class 1 -> potential (0.06, 0.36)
    prior = torch.tensor([[0.1, 1.0], [0.9, 0.5]]).view(2, 1, 2)
    thr = torch.tensor([0.3, 0.3])
    assert select(prob, thr).tolist() == [[[0, 0]]]
    # right pixel: potential (0.6, 0.2) -> 0
    assert select(apply_spatial_prior(prob, prior), thr).tolist() == [[[1, 0]]]
    # the prior multiplies before thresholding: 0.36 < 0.4 -> ignored
    thr_hi = torch.tensor([0.3, 0.4])
    assert select(apply_spatial_prior(prob, prior), thr_hi).tolist() == [[[255, 0]]]


def test_spatial_prior_is_resized():
    prob = random_probs(5, b=1, h=6, w=4, num_classes=2)
    prior = torch.tensor([0.25, 1.0]).view(2, 1, 1)  # constant per class
    out = apply_spatial_prior(prob, prior)
    assert out.shape == prob.shape
    torch.testing.assert_close(out[:, 0], prob[:, 0] * 0.25)
    torch.testing.assert_close(out[:, 1], prob[:, 1])
    # a top/bottom prior at half resolution keeps its orientation
    prior = torch.stack([torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]),
                         torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])])
    out = apply_spatial_prior(torch.full((1, 2, 6, 4), 0.5), prior)
    assert out[0, 0, 0].min() > 0 and out[0, 0, -1].max() == 0
    assert out[0, 1, -1].min() > 0 and out[0, 1, 0].max() == 0
    with pytest.raises(ValueError, match='prior'):
        apply_spatial_prior(prob, torch.ones(3, 6, 4))


def test_negative_labels_hand_checked():
    prob = torch.tensor([0.48, 0.47, 0.02, 0.03]).view(1, 4, 1, 1)
    neg = negative_labels(prob)
    assert neg.dtype == torch.bool
    assert neg.flatten().tolist() == [False, False, True, True]
    edge = torch.tensor([0.05, 0.0499, 0.9001, 0.0]).view(1, 4, 1, 1)
    assert negative_labels(edge).flatten().tolist() == [False, True, False,
                                                        True]
    assert negative_labels(edge, threshold=0.95).flatten().tolist() == [
        True, True, True, True]


@pytest.mark.parametrize('portion', [0.0, -0.1, 1.5])
def test_bad_portion(data, portion):
    hist = data[0]
    for fn in (class_portion_thresholds, global_portion_threshold,
               top_k_thresholds):
        with pytest.raises(ValueError, match='in \\(0, 1\\]'):
            fn(hist, portion)


def test_bad_inputs(data):
    hist, prob, _, _ = data
    with pytest.raises(ValueError, match='rounding'):
        class_portion_thresholds(hist, 0.5, rounding='ceil')
    with pytest.raises(ValueError, match='cap'):
        median_thresholds(hist, cap=0.0)
    with pytest.raises(ValueError, match='empty_value'):
        median_thresholds(hist, empty_value=2.0)
    with pytest.raises(ValueError, match='C, H, W'):
        negative_labels(prob[0, 0])
    with pytest.raises(ValueError, match='threshold'):
        negative_labels(prob, threshold=0.0)
