import math

import pytest
import torch

from mmseg_sfda.models.utils.class_mix import class_mix, class_mix_mask


def _label(seed=0, h=6, w=7, classes=5, ignore_frac=0.3):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, classes, (h, w), generator=g)
    lab[torch.rand(h, w, generator=g) < ignore_frac] = 255
    return lab


def test_mask_picks_half_of_present_classes_never_ignore():
    for seed in range(20):
        lab = _label(seed)
        g = torch.Generator().manual_seed(seed)
        mask = class_mix_mask(lab, generator=g)
        assert mask.dtype == torch.bool and mask.shape == lab.shape
        assert not mask[lab == 255].any()
        present = set(lab[lab != 255].tolist())
        chosen = set(lab[mask].tolist())
        assert len(chosen) == math.ceil(len(present) / 2) >= 1
        # whole classes: every pixel of a chosen class is in the mask
        assert torch.equal(mask, torch.isin(lab, torch.tensor(
            sorted(chosen))))


def test_single_class_and_all_ignore():
    lab = torch.full((3, 4), 255)
    lab[0, 0] = 7
    assert torch.equal(class_mix_mask(lab), lab == 7)  # at least one class
    lab = torch.full((3, 4), 9)
    assert not class_mix_mask(lab, ignore_index=9).any()
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        class_mix_mask(torch.zeros(1, 3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match='integer'):
        class_mix_mask(torch.zeros(3, 4))


def test_reproducible_with_seeded_generator():
    labs = torch.stack([_label(s, classes=8, ignore_frac=0.1)
                        for s in range(4)])
    a = [class_mix_mask(lab, generator=torch.Generator().manual_seed(3)) for lab in labs]
    b = [class_mix_mask(lab, generator=torch.Generator().manual_seed(3)) for lab in labs]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    outs = {tuple(class_mix_mask(labs[0], generator=torch.Generator(
    ).manual_seed(s)).flatten().tolist()) for s in range(10)}
    assert len(outs) > 1  # the seed matters


def test_mix_images_follow_the_chosen_source():
    lab_a, lab_b = _label(1), _label(2)
    mask = class_mix_mask(lab_a, generator=torch.Generator().manual_seed(0))
    img_a, img_b = torch.rand(3, 6, 7), torch.rand(3, 6, 7)
    mixed = class_mix(img_a, img_b, mask)
    m = mask.float()
    torch.testing.assert_close(mixed, m * img_a + (1 - m) * img_b)
    with pytest.raises(ValueError, match='mask'):
        class_mix(img_a, img_b, mask[:3])
