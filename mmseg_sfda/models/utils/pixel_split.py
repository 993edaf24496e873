"""Pixel-level easy / hard subdomain split of PixIntraDA (Eq. 2-4, 7)."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

_RULES = ('any', 'argmax')


def _check_prob(prob: Tensor, fn: str) -> None:
    if prob.dim() != 4:
        raise ValueError(f'{fn} expects probabilities (B, C, H, W), got '
                         f'shape {tuple(prob.shape)}')


def _check_easy_mask(easy_mask: Tensor, prob: Tensor, fn: str) -> None:
    b, _, h, w = prob.shape
    if easy_mask.dtype != torch.bool or easy_mask.shape != (b, h, w):
        raise ValueError(
            f'{fn}: easy_mask must be a bool tensor of shape {(b, h, w)} '
            f'(B, H, W), got {easy_mask.dtype} {tuple(easy_mask.shape)}')


def _scaled_thresholds(prob: Tensor, class_thresholds: Union[Tensor,
                                                             Sequence[float]],
                       alpha: float, fn: str) -> Tensor:
    """Validate t_k and alpha; return ``alpha * t`` shaped (1, C, 1, 1)."""
    t = torch.as_tensor(
        class_thresholds, dtype=torch.float32, device=prob.device)
    num_classes = prob.shape[1]
    if t.shape != (num_classes, ):
        raise ValueError(f'{fn}: class_thresholds must have shape '
                         f'({num_classes},) (one per class), got '
                         f'{tuple(t.shape)}')
    if not bool(((t > 0) & (t <= 1)).all()):
        raise ValueError(
            f'{fn}: class_thresholds must lie in (0, 1], got min '
            f'{float(t.min())} max {float(t.max())}; a threshold of 0 makes '
            'every pixel easy under Eq. 2 - give a class with no predicted '
            'pixels threshold 1.0, not 0')
    if not 0. <= float(alpha) <= 1.:
        raise ValueError(f'{fn}: alpha must be in [0, 1] (Eq. 2), got '
                         f'{alpha!r}')
    return (float(alpha) * t).view(1, num_classes, 1, 1)


def _above(prob: Tensor, scaled: Tensor, inclusive: bool) -> Tensor:
    prob = prob.float()
    return prob >= scaled if inclusive else prob > scaled


def pixel_easy_mask(prob: Tensor,
                    class_thresholds: Union[Tensor, Sequence[float]],
                    alpha: float,
                    rule: str = 'any',
                    inclusive: bool = False) -> Tensor:
    """Easy-subdomain mask ``1 - M`` of Eq. 2.

    - ``rule='any'`` (default, Eq. 2 as written): a pixel is easy iff SOME
      class k has ``y^k > alpha * t_k`` (hard iff ``y^k <= alpha * t_k`` for
      every k).
    - ``rule='argmax'`` (CBST / BDL-style alternative): easy iff the
      argmax class k has ``max_c y^c > alpha * t_k``.

    ``inclusive=True`` uses ``>=`` instead of the paper's strict ``>``.
    ``t_k`` (Sec. 4.1: min(median confidence of class k, 0.9)) must be in
    (0, 1]: a 0 would make every pixel easy.

    Args:
        prob (Tensor): Softmax probabilities of G_inter, (B, C, H, W).
        class_thresholds (Tensor | Sequence[float]): t_k, shape (C,).
        alpha (float): Scaling in [0, 1].
        rule (str): 'any' or 'argmax'. Default: 'any'.
        inclusive (bool): Use ``>=``. Default: False.

    Returns:
        Tensor: Bool (B, H, W), True = easy (M = 0), False = hard (M = 1).
    """
    fn = 'pixel_easy_mask'
    _check_prob(prob, fn)
    if rule not in _RULES:
        raise ValueError(f'{fn}: rule must be one of {_RULES}, got {rule!r}')
    scaled = _scaled_thresholds(prob, class_thresholds, alpha, fn)
    if rule == 'any':
        return _above(prob, scaled, inclusive).any(dim=1)
    conf, cls = prob.float().max(dim=1)
    cls_thr = scaled.view(-1)[cls]
    return conf >= cls_thr if inclusive else conf > cls_thr


def easy_pseudo_labels(prob: Tensor,
                       easy_mask: Tensor,
                       ignore_index: int = 255,
                       class_thresholds: Optional[Union[
                           Tensor, Sequence[float]]] = None,
                       alpha: float = 1.0,
                       inclusive: bool = False) -> Tensor:
    """Partial pseudo labels of Eq. 3; hard pixels get ``ignore_index``.

    - Without ``class_thresholds``: the argmax class on easy pixels. This
      equals Eq. 3 whenever the argmax class itself exceeds its threshold
      (always under ``rule='argmax'``).
    - With ``class_thresholds`` (and the ``alpha`` / ``inclusive`` used for
      the mask): Eq. 3 as written - the argmax over only the classes with
      ``y^k > alpha * t_k``; this can differ from the plain argmax when a
      rarer class passes its lower threshold while the top class does not.
      An easy pixel with no such class gets ``ignore_index``.

    Args:
        prob (Tensor): Softmax probabilities of G_inter, (B, C, H, W).
        easy_mask (Tensor): Bool (B, H, W) from :func:`pixel_easy_mask`.
        ignore_index (int): Label of hard pixels ("none"). Default: 255.
        class_thresholds (Tensor | Sequence[float], optional): t_k, (C,).
        alpha (float): Scaling in [0, 1]. Default: 1.0.
        inclusive (bool): Use ``>=``. Default: False.

    Returns:
        Tensor: Long (B, H, W) labels.
    """
    fn = 'easy_pseudo_labels'
    _check_prob(prob, fn)
    _check_easy_mask(easy_mask, prob, fn)
    if class_thresholds is None:
        labels = prob.argmax(dim=1)
        keep = easy_mask
    else:
        scaled = _scaled_thresholds(prob, class_thresholds, alpha, fn)
        above = _above(prob, scaled, inclusive)
        masked = prob.float().masked_fill(~above, float('-inf'))
        labels = masked.argmax(dim=1)
        keep = easy_mask & above.any(dim=1)
    return labels.masked_fill(~keep, ignore_index).long()


def easy_proportion(easy_mask: Tensor) -> Tensor:
    """Proportion of easy pixels, ``Prop.`` of Eq. 4.

    ``1/(HWN) sum_i 1^T (J - M_i) 1`` = mean of the easy mask over the
    N images and H*W pixels (accumulate counts yourself to cover a whole
    dataset in several batches).

    Args:
        easy_mask (Tensor): Bool (N, H, W) (or any shape), True = easy.

    Returns:
        Tensor: 0-dim float tensor in [0, 1].
    """
    if easy_mask.dtype != torch.bool:
        raise ValueError('easy_proportion: easy_mask must be a bool tensor '
                         f'(True = easy), got {easy_mask.dtype}')
    if easy_mask.numel() == 0:
        raise ValueError('easy_proportion: easy_mask is empty')
    return easy_mask.float().mean()


def continuous_domain_index(prob: Tensor, easy_mask: Tensor) -> Tensor:
    """Continuous domain index Z of Eq. 7.

    ``Z = 0`` on easy pixels (M = 0) and ``1 - max_k y^k`` on hard pixels
    (M = 1), from G_inter's probabilities; the regression target of the
    discriminator in Eq. 8 (see ``ContinuousIndexLoss``).

    Args:
        prob (Tensor): Softmax probabilities of G_inter, (B, C, H, W).
        easy_mask (Tensor): Bool (B, H, W) from :func:`pixel_easy_mask`.

    Returns:
        Tensor: Float (B, H, W) in [0, 1).
    """
    fn = 'continuous_domain_index'
    _check_prob(prob, fn)
    _check_easy_mask(easy_mask, prob, fn)
    z = 1. - prob.float().max(dim=1)[0]
    return z.masked_fill(easy_mask, 0.)
