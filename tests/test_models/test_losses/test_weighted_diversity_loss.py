import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses.weighted_diversity_loss import \
    WeightedDiversityLoss


def _np_loss(logits, lam, per_image=True, normalize=True, mask=None):
    x = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # B C H W
    h = -(p * np.log(p)).sum(axis=1)
    if normalize:
        h = h / np.log(p.shape[1])
    w = np.exp(-lam * h)
    if mask is not None:
        w = w * mask
    if per_image:
        out = []
        for b in range(p.shape[0]):
            ph = (w[b][None] * p[b]).sum(axis=(1, 2)) / w[b].sum()
            out.append((ph * np.log(ph)).sum())
        return np.mean(out)
    ph = (w[:, None] * p).sum(axis=(0, 2, 3)) / w.sum()
    return (ph * np.log(ph)).sum()


def test_hand_computed_two_pixels():
    # pixel 1: p = (1/4, 3/4); pixel 2: uniform (normalised h = 1)
    logits = torch.tensor([[0., 0.], [math.log(3.), 0.]]).view(1, 2, 1, 2)
    h1 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)) / math.log(2)
    w1, w2 = math.exp(-3 * h1), math.exp(-3.)
    p0 = (w1 * 0.25 + w2 * 0.5) / (w1 + w2)
    expected = p0 * math.log(p0) + (1 - p0) * math.log(1 - p0)
    out = WeightedDiversityLoss()(logits)
    assert out.item() == pytest.approx(expected, rel=1e-5)


def test_uniform_mean_reaches_minimum():
    # two images of opposite confident classes, pooled -> p_hat uniform
    logits = torch.zeros(2, 2, 2, 2)
    logits[0, 0] = 5.
    logits[1, 1] = 5.
    pooled = WeightedDiversityLoss(per_image=False)(logits)
    assert pooled.item() == pytest.approx(-math.log(2), rel=1e-5)
    per_img = WeightedDiversityLoss()(logits)
    assert per_img.item() > pooled.item()  # each image alone is one-sided


def test_against_numpy_options_and_mask():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3) * 2
    x = logits.double().numpy()
    for per_image in (True, False):
        for norm in (True, False):
            loss = WeightedDiversityLoss(per_image=per_image,
                                         normalize_entropy=norm,
                                         loss_weight=2.)
            assert loss(logits).item() == pytest.approx(
                2 * _np_loss(x, 3., per_image, norm), rel=1e-5)
    mask = torch.ones(2, 3, 3)
    mask[:, :, 2] = 0
    loss = WeightedDiversityLoss()
    assert loss(logits, weight=mask).item() == pytest.approx(
        _np_loss(x, 3., mask=mask.double().numpy()), rel=1e-5)
    # a 0/1 mask equals cropping the masked-out pixels away
    cropped = loss(logits[..., :2].contiguous())
    assert loss(logits, weight=mask).item() == pytest.approx(
        cropped.item(), rel=1e-5)
    label = torch.zeros(2, 3, 3, dtype=torch.long)
    assert torch.equal(loss(logits), loss(logits, label))


def test_gradient_finite_and_detach_option():
    torch.manual_seed(1)
    base = torch.randn(2, 3, 3, 3) * 20
    grads = []
    for detach in (False, True):
        logits = base.clone().requires_grad_()
        out = WeightedDiversityLoss(detach_weight=detach)(logits)
        out.backward()
        assert torch.isfinite(logits.grad).all()
        grads.append((out.item(), logits.grad))
    assert grads[0][0] == pytest.approx(grads[1][0])
    assert not torch.allclose(grads[0][1], grads[1][1])


def test_registry_name_and_errors():
    loss = MODELS.build(dict(type='WeightedDiversityLoss'))
    assert isinstance(loss, WeightedDiversityLoss)
    assert loss.lam == 3.
    assert loss.loss_name.startswith('loss_')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        loss(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match='weight'):
        loss(torch.randn(2, 3, 4, 4), weight=torch.ones(2, 4, 3))
