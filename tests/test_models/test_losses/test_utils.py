import math

import pytest
import torch
import torch.nn as nn

from mmseg_sfda.models.losses.utils import (BaseLoss, check_choice,
                                            check_logits, pixel_map,
                                            pixel_weight, softmax_entropy)


def test_base_loss():
    loss = BaseLoss(loss_weight=0.5, loss_name='loss_x')
    assert isinstance(loss, nn.Module)
    assert loss.loss_weight == 0.5
    assert loss.loss_name == 'loss_x'
    with pytest.raises(AttributeError):
        loss.loss_name = 'loss_y'  # read-only property, as in mmseg


def test_check_choice():
    check_choice('mean', ('mean', 'sum'), 'Foo')
    with pytest.raises(ValueError,
                       match=r"Foo: reduction must be one of .*'max'"):
        check_choice('max', ('mean', 'sum'), 'Foo')
    with pytest.raises(ValueError, match='Foo: mode must be one of'):
        check_choice('x', ('a', ), 'Foo', 'mode')


def test_check_logits():
    check_logits(torch.zeros(1, 2, 3, 4), 'Foo')
    with pytest.raises(ValueError, match=r'Foo expects logits of shape '
                       r'\(B, C, H, W\), got \(2, 3\)'):
        check_logits(torch.zeros(2, 3), 'Foo')
    with pytest.raises(ValueError, match='expects probabilities'):
        check_logits(torch.zeros(2, 3), 'Foo', what='probabilities')


def test_pixel_map_and_weight():
    like = torch.zeros(2, 3, 4)
    x = torch.arange(24).view(2, 1, 3, 4)
    out = pixel_map(x, like, 'Foo', 'label')
    assert out.shape == (2, 3, 4) and out.dtype == x.dtype
    assert torch.equal(out, x[:, 0])
    assert torch.equal(pixel_map(x[:, 0], like, 'Foo', 'label'), x[:, 0])
    with pytest.raises(ValueError, match=r'Foo: label must be per pixel '
                       r'with shape \(2, 3, 4\)'):
        pixel_map(torch.zeros(2, 2, 3, 4), like, 'Foo', 'label')

    w = pixel_weight(torch.ones(2, 1, 3, 4, dtype=torch.float64), like, 'Foo')
    assert w.shape == (2, 3, 4) and w.dtype == like.dtype
    with pytest.raises(ValueError, match='Foo: weight must be per pixel'):
        pixel_weight(torch.ones(2, 3), like, 'Foo')


def test_softmax_entropy():
    logits = torch.randn(2, 5, 3, 4, dtype=torch.float16)
    prob, ent = softmax_entropy(logits, False, 'Foo')
    assert prob.dtype == torch.float32 and ent.shape == (2, 3, 4)
    ref = torch.distributions.Categorical(
        logits=logits.float().permute(0, 2, 3, 1)).entropy()
    assert torch.allclose(ent, ref, atol=1e-5)
    assert torch.allclose(prob.sum(1), torch.ones(2, 3, 4))
    _, ent_n = softmax_entropy(logits, True, 'Foo')
    assert torch.allclose(ent_n, ref / math.log(5), atol=1e-5)
    # uniform prediction: normalised entropy 1
    _, ent_u = softmax_entropy(torch.zeros(1, 3, 2, 2), True, 'Foo')
    assert torch.allclose(ent_u, torch.ones(1, 2, 2))
    # one class: fine unnormalised (entropy 0), refused when normalising
    _, ent_1 = softmax_entropy(torch.randn(1, 1, 2, 2), False, 'Foo')
    assert torch.equal(ent_1, torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='Foo: normalize_entropy needs C >= 2'):
        softmax_entropy(torch.zeros(1, 1, 2, 2), True, 'Foo')
    with pytest.raises(ValueError, match='Foo: by log C needs'):
        softmax_entropy(torch.zeros(1, 1, 2, 2), True, 'Foo', 'by log C')
