import pytest
import torch

from mmseg_sfda.models.utils.pixel_split import (continuous_domain_index,
                                                 easy_pseudo_labels,
                                                 easy_proportion,
                                                 pixel_easy_mask)


def _prob():
    """(1, 3, 2, 3) crafted probabilities, thresholds t = (0.8, 0.5, 0.4)."""
    pixels = [
        [0.90, 0.05, 0.05],  # class 0 above 0.8 -> easy, label 0
        [0.70, 0.20, 0.10],  # nothing above -> hard
        [0.60, 0.00, 0.40],  # class 2 == 0.4, not > -> hard (easy if >=)
        [0.55, 0.45, 0.00],  # argmax 0 below 0.8, class 1 > 0.5? no -> hard
        [0.35, 0.10, 0.55],  # class 2 above 0.4 -> easy, label 2
        [0.45, 0.00, 0.55],  # argmax 2 above -> easy, label 2
    ]
    return torch.tensor(pixels).t().reshape(1, 3, 2, 3)


THR = torch.tensor([0.8, 0.5, 0.4])


def test_eq2_any_rule_strict():
    easy = pixel_easy_mask(_prob(), THR, alpha=1.0)
    assert easy.dtype == torch.bool and easy.shape == (1, 2, 3)
    assert easy.flatten().tolist() == [
        True, False, False, False, True, True
    ]
    inc = pixel_easy_mask(_prob(), THR, alpha=1.0, inclusive=True)
    assert inc.flatten().tolist() == [True, False, True, False, True, True]


def test_eq2_alpha_scales_thresholds():
    # alpha = 0.85: thresholds 0.68, 0.425, 0.34
    easy = pixel_easy_mask(_prob(), THR.tolist(), alpha=0.85)
    assert easy.flatten().tolist() == [True, True, True, True, True, True]
    # alpha = 0 would make every pixel with any p > 0 easy
    assert pixel_easy_mask(_prob(), THR, alpha=0.).all()


def test_any_vs_argmax_rule_differ():
    # argmax class 0 (0.6) below 0.8, but class 1 (0.4) above its 0.3
    prob = torch.tensor([0.6, 0.4, 0.0]).view(1, 3, 1, 1)
    thr = torch.tensor([0.8, 0.3, 0.5])
    assert pixel_easy_mask(prob, thr, 1.0).item()
    assert not pixel_easy_mask(prob, thr, 1.0, rule='argmax').item()
    easy = pixel_easy_mask(_prob(), THR, 1.0, rule='argmax')
    assert easy.flatten().tolist() == [
        True, False, False, False, True, True
    ]
    # Eq. 3 literal: argmax over the classes above threshold -> class 1
    mask = torch.ones(1, 1, 1, dtype=torch.bool)
    assert easy_pseudo_labels(prob, mask, class_thresholds=thr).item() == 1
    assert easy_pseudo_labels(prob, mask).item() == 0  # plain argmax


def test_eq3_pseudo_labels():
    prob = _prob()
    easy = pixel_easy_mask(prob, THR, alpha=1.0)
    labels = easy_pseudo_labels(prob, easy)
    assert labels.dtype == torch.long
    assert labels.flatten().tolist() == [0, 255, 255, 255, 2, 2]
    lit = easy_pseudo_labels(prob, easy, ignore_index=19,
                             class_thresholds=THR, alpha=1.0)
    assert lit.flatten().tolist() == [0, 19, 19, 19, 2, 2]
    # an "easy" pixel with no class above threshold gets ignore_index
    all_easy = torch.ones(1, 2, 3, dtype=torch.bool)
    lit = easy_pseudo_labels(prob, all_easy, class_thresholds=THR)
    assert lit.flatten().tolist() == [0, 255, 255, 255, 2, 2]


def test_eq4_proportion():
    easy = pixel_easy_mask(_prob(), THR, alpha=1.0)
    assert easy_proportion(easy).item() == pytest.approx(3 / 6)
    masks = torch.tensor([[[True, True], [True, True]],
                          [[False, False], [True, False]]])
    # 1/(HWN) sum_i 1^T (J - M_i) 1 = (4 + 1) / 8
    assert easy_proportion(masks).item() == pytest.approx(5 / 8)


def test_eq7_continuous_index():
    prob = _prob()
    easy = pixel_easy_mask(prob, THR, alpha=1.0)
    z = continuous_domain_index(prob, easy)
    expected = torch.tensor([0., 0.3, 0.4, 0.45, 0., 0.]).view(1, 2, 3)
    torch.testing.assert_close(z, expected)


def test_errors():
    prob = _prob()
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        pixel_easy_mask(prob[0], THR, 1.0)
    with pytest.raises(ValueError, match=r'\(3,\)'):
        pixel_easy_mask(prob, THR[:2], 1.0)
    with pytest.raises(ValueError, match='threshold 1.0, not 0'):
        pixel_easy_mask(prob, torch.tensor([0.8, 0., 0.4]), 1.0)
    with pytest.raises(ValueError, match='alpha'):
        pixel_easy_mask(prob, THR, 1.5)
    with pytest.raises(ValueError, match='rule'):
        pixel_easy_mask(prob, THR, 1.0, rule='max')
    with pytest.raises(ValueError, match='easy_mask'):
        easy_pseudo_labels(prob, torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match='easy_mask'):
        continuous_domain_index(prob, torch.ones(1, 3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match='bool'):
        easy_proportion(torch.ones(2, 2))
