import math

import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.losses import PatchAdversarialLoss

LN3 = math.log(3.)


def _case():
    # BCE with logits: target 0 -> log(1 + e^x), target 1 -> log(1 + e^-x)
    logits = torch.tensor([[0., LN3], [LN3, 0.]])
    easy = torch.tensor([[True, False], [False, True]])
    return logits, easy


def test_discriminator_mode_hand_computed():
    logits, easy = _case()
    # easy (target 0): x=0 -> ln2, x=0 -> ln2
    # hard (target 1): x=ln3 -> ln(4/3), twice
    total = 2 * math.log(2) + 2 * math.log(4 / 3)
    out = PatchAdversarialLoss()(logits, easy, mode='discriminator')
    assert out.item() == pytest.approx(total)
    out = PatchAdversarialLoss(reduction='mean')(logits, easy)
    assert out.item() == pytest.approx(total / 4)


def test_generator_mode_uses_hard_patches_only():
    logits, easy = _case()
    logits.requires_grad_(True)
    # hard (target 0): x=ln3 -> ln(1 + 3) = ln4, twice
    out = PatchAdversarialLoss(loss_weight=.01)(logits, easy, mode='generator')
    assert out.item() == pytest.approx(.01 * 2 * math.log(4))
    out.backward()
    assert torch.all(logits.grad[easy] == 0)
    assert torch.all(logits.grad[~easy] > 0)  # pushed towards "easy" (< 0)
    mean = PatchAdversarialLoss(reduction='mean')(
        logits, easy, mode='generator')
    assert mean.item() == pytest.approx(math.log(4))


def test_errors_and_registry():
    loss = MODELS.build(dict(type='PatchAdversarialLoss'))
    assert loss.loss_name == 'loss_adv'
    logits, easy = _case()
    with pytest.raises(ValueError, match='mode'):
        loss(logits, easy, mode='segmentor')
    with pytest.raises(ValueError, match='bool'):
        loss(logits, easy.float())
    with pytest.raises(ValueError, match='reduction'):
        PatchAdversarialLoss(reduction='none')
