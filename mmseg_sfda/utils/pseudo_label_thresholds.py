"""Class-wise pseudo-label threshold policies and pixel selection.

Thresholds are computed from a :class:`ClassConfidenceHistogram` (the max
probability of every pixel, filed under its argmax class) and returned as a
float32 tensor of C per-class thresholds:

- :func:`global_portion_threshold`: ST, CBST Alg. 1 (one threshold).
- :func:`class_portion_thresholds`: CBST Alg. 2 (``exp(-k_c)``).
- :func:`top_k_thresholds`: DAS3 Eq. 4 (category-level top K%).
- :func:`median_thresholds`: SIM Sec. 4.2 / PixIntraDA Eq. 2 (``t_k``).

Rank conventions (CBST; paper text vs. released code): the
confidences of class c are sorted in descending order and the threshold is
the element at 1-based rank ``r = floor(p * N_c)`` (released code,
``conf[len_cls_thresh - 1]``; default) or ``r = round(p * N_c)`` (paper text,
``rounding='round'``; Python/NumPy half-to-even). A tolerance of 1e-9 absorbs
float error in ``p * N_c`` (``0.29 * 100`` counts as 29, where a bare floor
gives 28). ``r == 0``, in particular a class with no pixels, gives 1.0 (the
code's ``np.ones`` initialisation). Selecting with ``>=`` (the code's
``weighted_conf < 1 -> ignore``, :func:`select_pseudo_labels` default
``inclusive=True``) then keeps the top ``r`` pixels of the class (up to ties
and one histogram bin); the paper's Eq. 5 / 8 use ``>``
(``inclusive=False``).
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .class_confidence_histogram import ClassConfidenceHistogram

_ROUNDINGS = ('floor', 'round')
_FLOOR_EPS = 1e-9


def _check_unit(value: float, name: str, low_open: bool = True) -> None:
    """Raise unless ``value`` is in (0, 1] (or [0, 1] if not low_open)."""
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        interval = '(0, 1]' if low_open else '[0, 1]'
        raise ValueError(f'{name} must be in {interval}, got {value!r}')


def _selected_rank(n: int, portion: float, rounding: str) -> int:
    """1-based descending rank of the threshold element (CBST Alg. 2 l.11)."""
    if rounding == 'floor':
        return math.floor(portion * n + _FLOOR_EPS)
    if rounding == 'round':
        return round(portion * n)
    raise ValueError(f'rounding must be one of {_ROUNDINGS}, got {rounding!r}')


def _portion_threshold(hist: ClassConfidenceHistogram, c: Optional[int],
                       portion: float, rounding: str) -> float:
    """Confidence at descending rank ``r(portion, N_c)``; 1.0 when r == 0."""
    rank = _selected_rank(hist.count(c), portion, rounding)
    if rank == 0:
        return 1.0
    return hist.sorted_value(rank - 1, c, descending=True)


def global_portion_threshold(hist: ClassConfidenceHistogram,
                             portion: float,
                             rounding: str = 'floor') -> Tensor:
    """ST threshold ``exp(-k)`` (CBST Eq. 5, Alg. 1), repeated for C classes.

    All pixels' confidences are pooled and ranked in descending order; the
    threshold is the one at rank ``floor(portion * N)`` (or ``round``), so
    selecting with ``>=`` keeps the ``portion`` most confident pixels.

    Args:
        hist (ClassConfidenceHistogram): Target-set confidence statistics.
        portion (float): Pseudo-label portion p in (0, 1].
        rounding (str): 'floor' (released code, default) or 'round' (paper).

    Returns:
        Tensor: (C,) float32, all equal; 1.0 if the rank is 0.
    """
    _check_unit(portion, 'global_portion_threshold: portion')
    thr = _portion_threshold(hist, None, portion, rounding)
    return torch.full((hist.num_classes, ), thr, dtype=torch.float32)


def class_portion_thresholds(hist: ClassConfidenceHistogram,
                             portion: float,
                             rounding: str = 'floor') -> Tensor:
    """CBST class-balanced thresholds ``exp(-k_c)`` (Eq. 8, Alg. 2).

    Per class c, the max-probability confidences of the pixels predicted as
    c are ranked in descending order and ``exp(-k_c)`` is the one at rank
    ``floor(portion * N_c)`` (released code, default) or
    ``round(portion * N_c)`` (paper text). A class with no pixels, or whose
    rank is 0, gets 1.0. Use with ``select_pseudo_labels(...,
    normalize=True)`` for Eq. 8's normalised argmax.

    Args:
        hist (ClassConfidenceHistogram): Target-set confidence statistics.
        portion (float): Pseudo-label portion p in (0, 1].
        rounding (str): 'floor' or 'round'. Default: 'floor'.

    Returns:
        Tensor: (C,) float32 thresholds.
    """
    _check_unit(portion, 'class_portion_thresholds: portion')
    return torch.tensor([
        _portion_threshold(hist, c, portion, rounding)
        for c in range(hist.num_classes)
    ], dtype=torch.float32)


def top_k_thresholds(hist: ClassConfidenceHistogram,
                     k: float = 0.65,
                     rounding: str = 'floor') -> Tensor:
    """DAS3 category-level thresholds ``lambda_c`` (Eq. 4; Sec. 4.1 K=65%).

    Eq. 4 keeps pixel n as class c iff ``c = argmax p_n`` and
    ``p_n^c > lambda_c``, with ``lambda_c`` "determined by the top K
    predictions within the class c": ``p_n^c`` at such pixels is the max
    probability, so ``lambda_c`` is the confidence at descending rank
    ``floor(K * N_c)`` of class c, i.e. a pixel is kept iff it is within the
    top K% of its predicted class. This equals
    ``class_portion_thresholds(hist, k)``; an empty class gets 1.0. Eq. 4's
    strict ``>`` is ``select_pseudo_labels(..., inclusive=False)``; the
    default ``>=`` keeps exactly the top K% (up to ties / one bin).

    Args:
        hist (ClassConfidenceHistogram): Target-set confidence statistics.
        k (float): Kept fraction K of each class, in (0, 1]. Default: 0.65.
        rounding (str): 'floor' or 'round'. Default: 'floor'.

    Returns:
        Tensor: (C,) float32 thresholds.
    """
    _check_unit(k, 'top_k_thresholds: k')
    return class_portion_thresholds(hist, k, rounding)


def median_thresholds(hist: ClassConfidenceHistogram,
                      cap: float = 0.9,
                      empty_value: float = 1.0) -> Tensor:
    """Class median capped at ``cap`` (SIM Sec. 4.2, PixIntraDA Eq. 2 ``t_k``).

    The median is the ascending sorted element at index ``round(N_c / 2)``
    (SIM/BDL code ``x = np.sort(x); x[np.int(np.round(len(x) * 0.5))]``,
    half-to-even; the upper median for even N_c); the threshold is
    ``min(median, cap)``.

    A class never predicted gets ``empty_value`` (not capped). SIM's code
    uses 0 (any pixel predicted as that class then passes), but under
    PixIntraDA's Eq. 2 a threshold of 0 makes every pixel "easy", so the
    default here is 1.0 (nothing of that class is selected / made easy);
    pass 0.0 to reproduce SIM.

    Args:
        hist (ClassConfidenceHistogram): Target-set confidence statistics.
        cap (float): Upper bound in (0, 1]. Default: 0.9.
        empty_value (float): Threshold of an empty class, in [0, 1].
            Default: 1.0.

    Returns:
        Tensor: (C,) float32 thresholds.
    """
    _check_unit(cap, 'median_thresholds: cap')
    _check_unit(empty_value, 'median_thresholds: empty_value', low_open=False)
    thr = []
    for c in range(hist.num_classes):
        n = hist.count(c)
        if n == 0:
            thr.append(empty_value)
        else:
            thr.append(min(cap, hist.sorted_value(round(n * 0.5), c)))
    return torch.tensor(thr, dtype=torch.float32)


def self_paced_portion(round_idx: int,
                       start: float = 0.2,
                       step: float = 0.05,
                       max_portion: float = 0.5) -> float:
    """CBST self-paced portion p (Sec. 4.3): 20%, +5% per round, max 50%.

    Args:
        round_idx (int): 0-based self-training round.
        start (float): Portion of round 0, in (0, 1]. Default: 0.2.
        step (float): Increment per round, >= 0. Default: 0.05.
        max_portion (float): Cap, in (0, 1]. Default: 0.5.

    Returns:
        float: ``min(max_portion, start + step * round_idx)``, rounded to 10
        decimals (so round 1 gives 0.25, not 0.25000000000000006).
    """
    if not isinstance(round_idx, int) or round_idx < 0:
        raise ValueError('self_paced_portion: round_idx must be an int >= 0, '
                         f'got {round_idx!r}')
    _check_unit(start, 'self_paced_portion: start')
    _check_unit(max_portion, 'self_paced_portion: max_portion')
    if step < 0:
        raise ValueError(
            f'self_paced_portion: step must be >= 0, got {step!r}')
    return min(max_portion, round(start + step * round_idx, 10))


def apply_spatial_prior(prob: Tensor, prior: Tensor) -> Tensor:
    """CBST-SP potential ``q_n(c) * p_n(c)`` (Eq. 9).

    Args:
        prob (Tensor): Probabilities (B, C, H, W).
        prior (Tensor): Spatial prior (C, h, w), bilinearly resized to
            (H, W) when the sizes differ. Scale it so its values are in
            [0, 1] (e.g. divide by its global maximum, which changes neither
            argmax nor within-class ranks) before feeding potentials to a
            :class:`ClassConfidenceHistogram`.

    Returns:
        Tensor: (B, C, H, W) potential.
    """
    _check_prob(prob, 'apply_spatial_prior')
    if prior.dim() != 3 or prior.shape[0] != prob.shape[1]:
        raise ValueError('apply_spatial_prior: prior must have shape '
                         f'({prob.shape[1]}, h, w), got {tuple(prior.shape)}')
    prior = prior.to(device=prob.device, dtype=prob.dtype)
    if tuple(prior.shape[1:]) != tuple(prob.shape[2:]):
        prior = F.interpolate(
            prior[None], size=prob.shape[2:], mode='bilinear',
            align_corners=False)[0]
    return prob * prior[None]


def select_pseudo_labels(prob: Tensor,
                         thresholds: Tensor,
                         ignore_index: int = 255,
                         prior: Optional[Tensor] = None,
                         inclusive: bool = True,
                         normalize: bool = False) -> Tensor:
    """Hard pseudo-labels: a pixel's class where it passes its threshold.

    With ``s = prob`` (or ``prior * prob``, CBST-SP Eq. 9, when ``prior``
    is given):

    - ``normalize=False`` (default; ST Eq. 5, DAS3 Eq. 4, SIM/BDL code):
      ``c = argmax_c s``, kept iff ``s_c >= thresholds[c]``.
    - ``normalize=True`` (CBST Eq. 8 and its code): ``c = argmax_c
      s_c / thresholds[c]``, kept iff that ratio ``>= 1``; can pick a class
      other than the argmax of ``s``. Thresholds must then be > 0.

    ``inclusive=False`` uses the papers' strict ``>`` instead of ``>=``.
    Ties in the argmax go to the lowest class index (``torch.max``, same as
    :meth:`ClassConfidenceHistogram.update`).

    Args:
        prob (Tensor): Softmax probabilities (B, C, H, W).
        thresholds (Tensor): (C,) per-class thresholds.
        ignore_index (int): Label of unselected pixels. Default: 255.
        prior (Tensor, optional): (C, h, w) spatial prior.
        inclusive (bool): ``>=`` (True, released CBST code) or ``>``.
        normalize (bool): CBST's normalised selection. Default: False.

    Returns:
        Tensor: (B, H, W) int64 labels.
    """
    _check_prob(prob, 'select_pseudo_labels')
    num_classes = prob.shape[1]
    if thresholds.dim() != 1 or thresholds.numel() != num_classes:
        raise ValueError('select_pseudo_labels: thresholds must have shape '
                         f'({num_classes},), got {tuple(thresholds.shape)}')
    score = prob if prior is None else apply_spatial_prior(prob, prior)
    thr = thresholds.to(device=score.device, dtype=score.dtype)
    if normalize:
        if bool((thr <= 0).any()):
            raise ValueError('select_pseudo_labels: normalize=True needs '
                             'thresholds > 0 (CBST Eq. 8 divides by them)')
        conf, label = (score / thr.view(1, -1, 1, 1)).max(dim=1)
        bound = torch.ones_like(conf)
    else:
        conf, label = score.max(dim=1)
        bound = thr[label]
    keep = conf >= bound if inclusive else conf > bound
    return torch.where(keep, label, torch.full_like(label, ignore_index))


def negative_labels(prob: Tensor, threshold: float = 0.05) -> Tensor:
    """DAS3 negative pseudo-labels ``delta(p) = [p < lambda_neg]`` (Eq. 6).

    Each True marks a class the pixel confidently does not belong to; the
    loss of Eq. 7 is ``-sum delta * log(1 - p)``.

    Args:
        prob (Tensor): Softmax probabilities (B, C, H, W).
        threshold (float): lambda_neg in (0, 1]. Default: 0.05 (DAS3).

    Returns:
        Tensor: (B, C, H, W) bool mask.
    """
    _check_prob(prob, 'negative_labels')
    _check_unit(threshold, 'negative_labels: threshold')
    return prob < threshold


def _check_prob(prob: Tensor, caller: str) -> None:
    """Raise unless ``prob`` is a 4-D (B, C, H, W) floating tensor."""
    if prob.dim() != 4 or not prob.is_floating_point():
        raise ValueError(f'{caller}: prob must be a floating tensor of shape '
                         f'(B, C, H, W), got {prob.dtype} '
                         f'{tuple(prob.shape)}')
