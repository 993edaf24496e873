"""Plumbing shared by the loss modules of this package.

``BaseLoss`` holds the mmseg loss conventions (``loss_weight`` and the
``loss_name`` property); the functions check inputs and raise
``ValueError`` messages prefixed with the calling loss's name (``owner``).
"""
import math
from typing import Any, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class BaseLoss(nn.Module):
    """``nn.Module`` with mmseg's ``loss_weight`` and ``loss_name``.

    Subclasses pass both on from their own ``__init__`` (and document them
    there); mmseg only back-propagates loss items whose name starts with
    ``loss_``. A paper's weight is never a loss's ``loss_weight``: the segmentor
    that adds the term owns it (``lambda_adv_main``, ``alpha`` ...), so the
    package's configs leave ``loss_weight`` at 1 (docs/adding_a_method.md).

    Args:
        loss_weight (float): Multiplier of the loss, applied by the subclass.
        loss_name (str): Name of the loss item.
    """

    def __init__(self, loss_weight: float, loss_name: str) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Name of the loss item (mmseg convention)."""
        return self._loss_name


def check_choice(value: Any,
                 choices: Sequence,
                 owner: str,
                 name: str = 'reduction') -> None:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{owner}: {name} must be one of {choices}, '
                         f'got {value!r}')


def check_logits(cls_score: Tensor, owner: str, what: str = 'logits') -> None:
    """Raise unless ``cls_score`` is 4-D, i.e. (B, C, H, W)."""
    if cls_score.dim() != 4:
        raise ValueError(f'{owner} expects {what} of shape (B, C, H, W), '
                         f'got {tuple(cls_score.shape)}')


def pixel_map(x: Tensor, like: Tensor, owner: str, name: str) -> Tensor:
    """Return the per-pixel ``x`` (B, H, W) or (B, 1, H, W) as (B, H, W).

    Args:
        x (Tensor): The per-pixel input (weight, label, ...).
        like (Tensor): A (B, H, W) tensor whose shape ``x`` must match.
        owner (str): Loss name for the error message.
        name (str): Name of ``x`` for the error message.

    Returns:
        Tensor: ``x`` as (B, H, W), dtype unchanged.
    """
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.shape != like.shape:
        raise ValueError(
            f'{owner}: {name} must be per pixel with shape '
            f'{tuple(like.shape)} (B, H, W), got {tuple(x.shape)}')
    return x


def pixel_weight(weight: Tensor, like: Tensor, owner: str) -> Tensor:
    """:func:`pixel_map` of ``weight``, cast to ``like``'s dtype."""
    return pixel_map(weight, like, owner, 'weight').to(like.dtype)


def softmax_entropy(cls_score: Tensor,
                    normalize: bool,
                    owner: str,
                    option: str = 'normalize_entropy'
                    ) -> Tuple[Tensor, Tensor]:
    """Per-pixel entropy of ``softmax(cls_score, dim=1)``.

    Args:
        cls_score (Tensor): Logits (B, C, H, W), taken in float32.
        normalize (bool): Divide the entropy by ``log C`` (needs C >= 2).
        owner (str): Loss name for the error message.
        option (str): What asked for the normalisation, for the error
            message. Default: 'normalize_entropy'.

    Returns:
        tuple[Tensor, Tensor]: The softmax ``p`` (B, C, H, W) and the entropy
        ``h = -sum_c p_c log p_c`` (B, H, W), in nats or, normalised, in
        [0, 1].
    """
    num_classes = cls_score.shape[1]
    if normalize and num_classes < 2:
        raise ValueError(f'{owner}: {option} needs C >= 2 classes, '
                         f'got C={num_classes}')
    log_p = F.log_softmax(cls_score.float(), dim=1)
    prob = log_p.exp()
    ent = -(prob * log_p).sum(dim=1)
    if normalize:
        ent = ent / math.log(num_classes)
    return prob, ent
