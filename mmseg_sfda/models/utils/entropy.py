"""Weighted self-information maps of AdvEnt (ADVENT ``prob_2_entropy``)."""
import math

import torch.nn.functional as F
from torch import Tensor


def self_information_map(logits: Tensor, normalize: bool = True) -> Tensor:
    """Per-class weighted self-information ``I = -p * log p``.

    ``p = softmax(logits)`` over C. With ``normalize=True`` (default, as
    valeoai/ADVENT ``prob_2_entropy``: ``-p * log2(p + 1e-30) / log2(C)``)
    the map is divided by ``log C``; since ``log2(p) / log2(C) = ln(p) /
    ln(C)`` the base does not matter, and summing over C gives the entropy
    normalised to [0, 1]. ``normalize=False`` returns nats.

    Computed as ``-p * log_softmax(logits)`` (exact, finite gradient)
    instead of ADVENT's ``+1e-30``; the two differ by < 1e-29 per element.

    Args:
        logits (Tensor): Segmentation logits (B, C, H, W), C >= 2 when
            normalising.
        normalize (bool): Divide by ``log C``. Default: True.

    Returns:
        Tensor: (B, C, H, W), the discriminator input of AdvEnt.
    """
    if logits.dim() != 4:
        raise ValueError('self_information_map expects logits (B, C, H, W), '
                         f'got shape {tuple(logits.shape)}')
    num_classes = logits.shape[1]
    if normalize and num_classes < 2:
        raise ValueError('self_information_map: normalising by log C needs '
                         f'C >= 2 classes, got C={num_classes}')
    logits = logits.float()
    log_p = F.log_softmax(logits, dim=1)
    info = -log_p.exp() * log_p
    if normalize:
        info = info / math.log(num_classes)
    return info
