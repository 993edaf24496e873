"""DAS3's entropy ranking (Eq. 9) used by PseudoLabelHook(image_split=...)."""
import math

import pytest
import torch

from mmseg_sfda.pseudo_labels.image_split import easy_split, image_entropy


def test_image_entropy_normalised():
    c = 4
    assert image_entropy(torch.full((1, c, 2, 2), 1 / c)) == pytest.approx(1.)
    one_hot = torch.zeros(1, c, 2, 2)
    one_hot[:, 1] = 1
    assert image_entropy(one_hot) == pytest.approx(0., abs=1e-6)
    prob = torch.tensor([0.5, 0.5, 0., 0.]).view(1, c, 1, 1)
    assert image_entropy(prob) == pytest.approx(math.log(2) / math.log(c))
    with pytest.raises(ValueError, match=r'\(1, C, H, W\)'):
        image_entropy(torch.zeros(4, 2, 2))


def test_easy_split_ranks_by_entropy_then_name():
    ent = [('e', 0.9), ('b', 0.2), ('a', 0.2), ('d', 0.05), ('c', 0.7), ('f', 0.8),
           ('g', 1.0), ('h', 0.6), ('i', 0.3), ('j', 0.4)]
    split = easy_split(ent)  # int(10 * 0.3) = 3 easiest: d, then the tie a < b
    assert sorted(k for k, v in split.items() if v) == ['a', 'b', 'd']
    assert len(split) == 10
    assert not any(easy_split(ent, 0.).values())
    assert easy_split([('x', 1.), ('x', 1.)], 1.) == {'x': True}  # a stem counts once
    with pytest.raises(ValueError, match='easy_portion'):
        easy_split(ent, 1.5)
