import math

import pytest
import torch

from mmseg_sfda.models.utils.class_mix import (class_mix, class_mix_batch,
                                               class_mix_mask,
                                               class_mix_masks, image_entropy,
                                               mix_labels, split_easy_hard)


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
    a = class_mix_masks(labs, generator=torch.Generator().manual_seed(3))
    b = class_mix_masks(labs, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    outs = {tuple(class_mix_mask(labs[0], generator=torch.Generator(
    ).manual_seed(s)).flatten().tolist()) for s in range(10)}
    assert len(outs) > 1  # the seed matters


def test_mix_images_and_labels_follow_the_chosen_source():
    lab_a, lab_b = _label(1), _label(2)
    mask = class_mix_mask(lab_a, generator=torch.Generator().manual_seed(0))
    img_a, img_b = torch.rand(3, 6, 7), torch.rand(3, 6, 7)
    mixed = class_mix(img_a, img_b, mask)
    m = mask.float()
    torch.testing.assert_close(mixed, m * img_a + (1 - m) * img_b)
    mixed_lab = mix_labels(lab_a, lab_b, mask)
    assert torch.equal(mixed_lab[mask], lab_a[mask])
    assert torch.equal(mixed_lab[~mask], lab_b[~mask])
    src_ignore = torch.where(mask, lab_a == 255, lab_b == 255)
    assert torch.equal(mixed_lab == 255, src_ignore)
    # ignore pixels of image a that were not pasted do not leak in
    assert ((lab_a == 255) & (lab_b != 255) & (mixed_lab != 255)).any()
    with pytest.raises(ValueError, match='mask'):
        class_mix(img_a, img_b, mask[:3])
    with pytest.raises(ValueError, match='shape'):
        mix_labels(lab_a, lab_b[:3], mask)


def test_class_mix_batch_pairs_rolled():
    labs = torch.stack([_label(s) for s in range(3)]).unsqueeze(1)
    imgs = torch.rand(3, 2, 6, 7)
    mixed, mixed_lab, masks = class_mix_batch(
        imgs, labs, generator=torch.Generator().manual_seed(0))
    assert mixed.shape == imgs.shape and mixed_lab.shape == labs.shape
    for i in range(3):
        j = (i + 1) % 3
        m = masks[i]
        assert not m[labs[i, 0] == 255].any()
        assert torch.equal(mixed[i][:, m], imgs[i][:, m])
        assert torch.equal(mixed[i][:, ~m], imgs[j][:, ~m])
        assert torch.equal(mixed_lab[i, 0],
                           torch.where(m, labs[i, 0], labs[j, 0]))
    assert torch.equal(masks, class_mix_masks(
        labs, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match='B >= 2'):
        class_mix_batch(imgs[:1], labs[:1])


def test_image_entropy_and_easy_hard_split():
    c = 4
    # per-image confidence: scale of a one-hot logit (0 = uniform)
    scales = [0., 8., 2., 8., 30., 1., 0., 4., 3., 5.]
    logits = torch.zeros(len(scales), c, 2, 2)
    for i, s in enumerate(scales):
        logits[i, i % c] = s
    ent = image_entropy(logits)
    assert ent.shape == (10,)
    assert ent[0].item() == pytest.approx(1.)  # uniform: normalised to 1
    raw = image_entropy(logits, normalize=False)
    torch.testing.assert_close(raw, ent * math.log(c))
    easy, hard = split_easy_hard(ent)
    # floor(0.3 * 10) = 3 easiest: scale 30 (idx 4), then the tie of the
    # two scale-8 images, earlier index first
    assert easy.tolist() == [4, 1, 3]
    assert hard.tolist() == [9, 7, 8, 2, 5, 0, 6]
    assert sorted(easy.tolist() + hard.tolist()) == list(range(10))
    e, h = split_easy_hard(ent, easy_portion=0.)
    assert e.numel() == 0 and h.numel() == 10
    with pytest.raises(ValueError, match='easy_portion'):
        split_easy_hard(ent, 1.5)
    with pytest.raises(ValueError, match=r'\(N,\)'):
        split_easy_hard(ent.view(2, 5))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        image_entropy(torch.zeros(4, 2, 2))
