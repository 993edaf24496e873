"""CBST: class-balanced thresholds (Alg. 2) and, optionally, Eq. 8's normalised arg-max."""
from typing import Union

import numpy as np
import torch
from torch import Tensor

from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from ..class_confidence_histogram import ClassConfidenceHistogram
from .base_pseudo_label_policy import (IGNORE_INDEX, BasePseudoLabelPolicy, check_unit,
                                       portion_threshold, round_portion)


def class_portion_thresholds(hist: ClassConfidenceHistogram, portion: float,
                             rounding: str = 'floor') -> Tensor:
    """CBST class-balanced thresholds ``exp(-k_c)`` (Eq. 8, Alg. 2).

    Per class c, the scores of the pixels predicted as c are ranked in descending order
    and ``exp(-k_c)`` is the one at rank ``floor(portion * N_c)`` (released code,
    default) or ``round(portion * N_c)`` (paper text). A class with no pixels, or whose
    rank is 0, gets 1.0. Returns (C,) float32.
    """
    check_unit(portion, 'class_portion_thresholds: portion')
    return torch.tensor([portion_threshold(hist, c, portion, rounding)
                         for c in range(hist.num_classes)], dtype=torch.float32)


def normalized_pseudo_labels(scores: Tensor, thresholds: Tensor) -> np.ndarray:
    """CBST Eq. 8 (and its code): ``c = argmax_c s_c / exp(-k_c)``, kept iff that ratio
    is >= 1; may pick a class other than the arg-max of ``s`` (C, H, W). Ties go to the
    lowest class index. Returns (H, W) uint8, 255 = ignore."""
    thr = thresholds.to(device=scores.device, dtype=scores.dtype)
    if bool((thr <= 0).any()):
        raise ValueError('normalized_pseudo_labels: thresholds must be > 0 (CBST Eq. 8 '
                         'divides by them)')
    ratio, label = (scores / thr.view(-1, 1, 1)).max(dim=0)
    label = torch.where(ratio >= 1, label, torch.full_like(label, IGNORE_INDEX))
    return label.cpu().numpy().astype(np.uint8)


@PSEUDO_LABEL_POLICIES.register_module(name=['class_portion', 'ClassPortionPolicy'])
class ClassPortionPolicy(BasePseudoLabelPolicy):
    """CBST: per class, keep the top ``portion`` of its pixels (Alg. 2).

    Args:
        portion (float | dict): p in (0, 1], or the self-paced schedule
            ``dict(start=0.2, step=0.05, max_portion=0.5)`` (+5% a round).
        rounding (str): 'floor' (released code) or 'round' (paper).
        normalize (bool): label with Eq. 8's normalised arg-max ``argmax_c s_c /
            exp(-k_c)`` (CBST's code) instead of the arg-max of ``s`` (Alg. 2);
            the hook then scores the target set a second time. Default: False.
        scale (float): see :class:`BasePseudoLabelPolicy`.
    """

    def __init__(self, portion: Union[float, dict] = 0.2, rounding: str = 'floor',
                 normalize: bool = False, scale: float = 1.0) -> None:
        super().__init__(scale)
        self.portion = portion
        self.rounding = rounding
        self.normalize = normalize
        self.uses_probabilities = normalize

    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        return class_portion_thresholds(hist, round_portion(self.portion, round_idx),
                                        self.rounding)

    def select_probabilities(self, scores: Tensor, thresholds: Tensor) -> np.ndarray:
        return normalized_pseudo_labels(scores, thresholds)
