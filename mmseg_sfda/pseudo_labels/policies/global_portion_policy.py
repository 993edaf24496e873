"""ST: one threshold for every class (CBST Eq. 5, Alg. 1)."""
from typing import Union

import torch
from torch import Tensor

from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from ..class_confidence_histogram import ClassConfidenceHistogram
from .base_pseudo_label_policy import (BasePseudoLabelPolicy, check_unit,
                                       portion_threshold, round_portion)


def global_portion_threshold(hist: ClassConfidenceHistogram, portion: float,
                             rounding: str = 'floor') -> Tensor:
    """ST threshold ``exp(-k)`` (CBST Eq. 5, Alg. 1), repeated for C classes.

    All pixels' scores are pooled and ranked in descending order; the threshold is the
    one at rank ``floor(portion * N)`` (or ``round``), so selecting with ``>=`` keeps the
    ``portion`` most confident pixels. 1.0 if the rank is 0.
    """
    check_unit(portion, 'global_portion_threshold: portion')
    thr = portion_threshold(hist, None, portion, rounding)
    return torch.full((hist.num_classes, ), thr, dtype=torch.float32)


@PSEUDO_LABEL_POLICIES.register_module(name=['global_portion', 'GlobalPortionPolicy'])
class GlobalPortionPolicy(BasePseudoLabelPolicy):
    """ST: keep the top ``portion`` of all pixels, whatever their class.

    Args:
        portion (float | dict): p in (0, 1], or the self-paced schedule
            ``dict(start=0.2, step=0.05, max_portion=0.5)`` (+5% a round).
        rounding (str): 'floor' (released code) or 'round' (paper).
        scale (float): see :class:`BasePseudoLabelPolicy`.
    """

    def __init__(self, portion: Union[float, dict] = 0.2, rounding: str = 'floor',
                 scale: float = 1.0) -> None:
        super().__init__(scale)
        self.portion = portion
        self.rounding = rounding

    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        return global_portion_threshold(hist, round_portion(self.portion, round_idx),
                                        self.rounding)
