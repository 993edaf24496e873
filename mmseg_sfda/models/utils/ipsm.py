"""Patch splitting and entropy ranking of IPSM (SFDA Sec. 3.3.1, Eq. 13-14)."""
from typing import Tuple

import torch
from torch import Tensor


def split_patches(x: Tensor, k: int) -> Tensor:
    """Cut each map into K x K non-overlapping patches.

    Patch index = row * K + col (row-major), the label k of Sec. 3.3.1.

    Args:
        x (Tensor): Maps (B, C, H, W); H and W must be divisible by K (no
            cropping is done: crop or resize the map first).
        k (int): Patches per side, K.

    Returns:
        Tensor: (B, K*K, C, H/K, W/K).
    """
    if not (isinstance(k, int) and k > 0):
        raise ValueError(f'split_patches: K must be a positive int, got {k!r}')
    if x.dim() != 4:
        raise ValueError('split_patches expects (B, C, H, W), got shape '
                         f'{tuple(x.shape)}')
    b, c, h, w = x.shape
    if h % k or w % k:
        raise ValueError(
            f'split_patches: H x W = {h} x {w} is not divisible by K={k}; '
            'crop or resize the prediction to a multiple of K, or pick '
            'another K')
    ph, pw = h // k, w // k
    patches = x.reshape(b, c, k, ph, k, pw).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(b, k * k, c, ph, pw)


def patch_entropy(prob_patches: Tensor) -> Tensor:
    """Mean pixel entropy of each probability patch (Eq. 13).

    ``E = -1/(H2 W2) sum_hw sum_c p log p`` (natural log, 0 log 0 = 0).

    Args:
        prob_patches (Tensor): Softmax probabilities (..., C, H2, W2), e.g.
            (B, K*K, C, H2, W2) from :func:`split_patches`.

    Returns:
        Tensor: Entropies of shape (...), e.g. (B, K*K).
    """
    if prob_patches.dim() < 3:
        raise ValueError(
            'patch_entropy expects (..., C, H2, W2) probabilities, got '
            f'shape {tuple(prob_patches.shape)}')
    p = prob_patches.float()
    return -torch.special.xlogy(p, p).sum(dim=-3).mean(dim=(-2, -1))


def rank_easy_hard(entropy: Tensor) -> Tuple[Tensor, Tensor]:
    """Split the batch into easy / hard halves per patch position (Eq. 14).

    At each position k the B/2 samples with the lowest entropy are easy, the
    other B/2 hard. Ties go by batch index (stable sort: earlier = easier).

    Args:
        entropy (Tensor): (B, K*K) patch entropies; B must be even.

    Returns:
        tuple[Tensor, Tensor]: Boolean masks ``(easy, hard)``, each
        (B, K*K) with exactly B/2 True per column; ``hard == ~easy``.
    """
    if entropy.dim() != 2:
        raise ValueError('rank_easy_hard expects entropies (B, K*K), got '
                         f'shape {tuple(entropy.shape)}')
    b = entropy.shape[0]
    if b == 0 or b % 2:
        raise ValueError(
            f'rank_easy_hard: batch size B={b} must be even and > 0 (Eq. 14 '
            'splits B/2 easy / B/2 hard); use an even target batch size')
    order = torch.argsort(entropy, dim=0, stable=True)
    easy = torch.zeros_like(entropy, dtype=torch.bool)
    easy.scatter_(0, order[:b // 2], True)
    return easy, ~easy
