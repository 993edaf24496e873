import math

import pytest
import torch

from mmseg_sfda.models.utils import (patch_entropy, rank_easy_hard,
                                     split_patches)


def test_split_patches_matches_slicing():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float).view(2, 3, 4, 6)
    patches = split_patches(x, 2)
    assert patches.shape == (2, 4, 3, 2, 3)
    for row in range(2):
        for col in range(2):
            expected = x[:, :, 2 * row:2 * row + 2, 3 * col:3 * col + 3]
            assert torch.equal(patches[:, row * 2 + col], expected)
    with pytest.raises(ValueError, match='not divisible by K=4'):
        split_patches(x, 4)


def test_patch_entropy_hand_computed():
    # C=4, patch of 2 pixels: uniform (ln 4) and one-hot (0) -> mean ln4 / 2
    p = torch.zeros(1, 1, 4, 1, 2)
    p[..., 0] = .25
    p[0, 0, 2, 0, 1] = 1.
    assert patch_entropy(p).shape == (1, 1)
    assert patch_entropy(p).item() == pytest.approx(math.log(4) / 2)


def test_rank_on_crafted_batch():
    # B=4 images of 1 class-map with K=2: patch (b, k) is confident
    # (one-hot, entropy 0) or uncertain (uniform, entropy ln C) by design.
    confident = torch.tensor([[1, 0, 1, 1],
                              [0, 1, 1, 0],
                              [1, 1, 0, 0],
                              [0, 0, 0, 1]], dtype=torch.bool)
    c, ph, pw, k = 3, 2, 2, 2
    prob = torch.full((4, c, ph * k, pw * k), 1. / c)
    for b in range(4):
        for idx in range(k * k):
            if confident[b, idx]:
                r, col = divmod(idx, k)
                rows = slice(r * ph, (r + 1) * ph)
                patch = prob[b, :, rows, col * pw:(col + 1) * pw]
                patch.zero_()
                patch[0] = 1.
    entropy = patch_entropy(split_patches(prob, k))
    expected_entropy = (~confident).float() * math.log(c)
    torch.testing.assert_close(entropy, expected_entropy)
    easy, hard = rank_easy_hard(entropy)
    # every column has exactly two confident samples -> those are easy
    assert torch.equal(easy, confident)
    assert torch.equal(hard, ~confident)


def test_rank_values_and_ties():
    entropy = torch.tensor([[.1, .9], [.5, .2], [.3, .8], [.7, .1]])
    easy, hard = rank_easy_hard(entropy)
    assert easy[:, 0].tolist() == [True, False, True, False]
    assert easy[:, 1].tolist() == [False, True, False, True]
    ties, _ = rank_easy_hard(torch.zeros(4, 1))
    assert ties[:, 0].tolist() == [True, True, False, False]


@pytest.mark.parametrize('batch', [3, 0])
def test_odd_or_empty_batch_raises(batch):
    with pytest.raises(ValueError, match='must be even'):
        rank_easy_hard(torch.rand(batch, 4))
