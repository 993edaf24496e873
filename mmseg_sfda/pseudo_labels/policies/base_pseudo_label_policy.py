"""The base of the pseudo-label policies: class thresholds, then a selection rule.

Thresholds are computed from a :class:`ClassConfidenceHistogram` (the score of every
pixel, filed under its arg-max class). Rank conventions (CBST; paper text vs. released
code): the scores of class c are sorted in descending order and the threshold is the
element at 1-based rank ``r = floor(p * N_c)`` (released code,
``conf[len_cls_thresh - 1]``; default) or ``r = round(p * N_c)`` (paper text,
``rounding='round'``; half-to-even). A tolerance of 1e-9 absorbs float error in
``p * N_c`` (``0.29 * 100`` counts as 29). ``r == 0``, in particular a class with no
pixels, gives 1.0 (the code's ``np.ones`` initialisation). Pixels are kept with ``>=``
(the code's ``weighted_conf < 1 -> ignore``; the papers' Eq. 5 / 8 write ``>``).
"""
import math
from abc import ABCMeta, abstractmethod
from typing import Optional, Union

import numpy as np
from torch import Tensor

from ..class_confidence_histogram import ClassConfidenceHistogram

IGNORE_INDEX = 255
_ROUNDINGS = ('floor', 'round')
_FLOOR_EPS = 1e-9


def check_unit(value: float, name: str, low_open: bool = True) -> None:
    """Raise unless ``value`` is in (0, 1] (or [0, 1] if not ``low_open``)."""
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        interval = '(0, 1]' if low_open else '[0, 1]'
        raise ValueError(f'{name} must be in {interval}, got {value!r}')


def portion_threshold(hist: ClassConfidenceHistogram, c: Optional[int],
                      portion: float, rounding: str) -> float:
    """Score at descending rank ``r(portion, N_c)`` of class ``c`` (all pixels when
    None; CBST Alg. 2 l.11); 1.0 when ``r == 0``."""
    n = hist.count(c)
    if rounding == 'floor':
        rank = math.floor(portion * n + _FLOOR_EPS)
    elif rounding == 'round':
        rank = round(portion * n)
    else:
        raise ValueError(f'rounding must be one of {_ROUNDINGS}, got {rounding!r}')
    if rank == 0:
        return 1.0
    return hist.sorted_value(rank - 1, c, descending=True)


def self_paced_portion(round_idx: int,
                       start: float = 0.2,
                       step: float = 0.05,
                       max_portion: float = 0.5) -> float:
    """CBST self-paced portion p (Sec. 4.3): 20%, +5% per round, at most 50%.

    Returns ``min(max_portion, start + step * round_idx)``, rounded to 10 decimals (so
    round 1 gives 0.25, not 0.25000000000000006).
    """
    if not isinstance(round_idx, int) or round_idx < 0:
        raise ValueError('self_paced_portion: round_idx must be an int >= 0, '
                         f'got {round_idx!r}')
    check_unit(start, 'self_paced_portion: start')
    check_unit(max_portion, 'self_paced_portion: max_portion')
    if step < 0:
        raise ValueError(f'self_paced_portion: step must be >= 0, got {step!r}')
    return min(max_portion, round(start + step * round_idx, 10))


def round_portion(portion: Union[float, dict], round_idx: int) -> float:
    """A fixed ``portion``, or the self-paced schedule ``dict(start=, step=,
    max_portion=)`` at round ``round_idx``."""
    if isinstance(portion, dict):
        return self_paced_portion(round_idx, **portion)
    return portion


class BasePseudoLabelPolicy(metaclass=ABCMeta):
    """Class thresholds from the round's score histograms and the rule that turns a
    pixel's scores into its pseudo label.

    Subclasses implement :meth:`class_thresholds`. The default rule (ST Eq. 5, CBST
    Alg. 2, DAS3 Eq. 4, SIM / PixIntraDA's code) keeps a pixel's arg-max class where its
    score reaches that class's threshold; it needs only the stored arg-max and score. A
    policy whose rule needs every class's score (``uses_probabilities``) implements
    :meth:`select_probabilities` instead; the hook then scores the set a second time.

    Args:
        scale (float): the thresholds are multiplied by it, in (0, 1] (PixIntraDA Eq. 2:
            a pixel is easy when its score reaches ``alpha * t_k``). Default: 1.
    """

    uses_probabilities = False

    def __init__(self, scale: float = 1.0) -> None:
        if not 0 < scale <= 1:
            raise ValueError('pseudo-label policy: scale must be in (0, 1] (PixIntraDA '
                             f'alpha), got {scale!r}')
        self.scale = scale

    @abstractmethod
    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        """(C,) float32 thresholds before ``scale``."""

    def thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        """The round's (C,) class thresholds, times ``scale``."""
        return self.class_thresholds(hist, round_idx) * self.scale

    def select(self, label: np.ndarray, score: np.ndarray,
               thresholds: np.ndarray) -> np.ndarray:
        """The arg-max rule: ``label`` where ``score >= thresholds[label]``, else 255.

        Args:
            label (np.ndarray): (H, W) uint8 arg-max classes.
            score (np.ndarray): (H, W) float32 arg-max scores.
            thresholds (np.ndarray): (C,) float32.

        Returns:
            np.ndarray: (H, W) uint8 pseudo label.
        """
        return np.where(score >= thresholds[label], label, IGNORE_INDEX).astype(np.uint8)

    def select_probabilities(self, scores: Tensor, thresholds: Tensor) -> np.ndarray:
        """The rule on every class's score ``scores`` (C, H, W); (H, W) uint8 label.

        By default the arg-max rule of :meth:`select` on the scores' maximum; policies
        whose rule reads every class (``uses_probabilities``) override it."""
        score, label = scores.max(dim=0)
        return self.select(label.cpu().numpy().astype(np.uint8),
                           score.float().cpu().numpy(), thresholds.float().cpu().numpy())
