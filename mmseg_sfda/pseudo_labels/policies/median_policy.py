"""SIM / PixIntraDA: the class median capped at 0.9 (SIM Sec. 4.2, PixIntraDA Eq. 2-3)."""
import numpy as np
import torch
from torch import Tensor

from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from ..class_confidence_histogram import ClassConfidenceHistogram
from .base_pseudo_label_policy import IGNORE_INDEX, BasePseudoLabelPolicy, check_unit

RULES = ('argmax', 'any')


def median_thresholds(hist: ClassConfidenceHistogram, cap: float = 0.9,
                      empty_value: float = 1.0) -> Tensor:
    """Class median capped at ``cap`` (SIM Sec. 4.2, PixIntraDA Eq. 2 ``t_k``).

    The median is the ascending sorted element at index ``round(N_c / 2)`` (SIM/BDL code
    ``x = np.sort(x); x[np.int(np.round(len(x) * 0.5))]``, half-to-even; the upper median
    for even N_c); the threshold is ``min(median, cap)``. A class never predicted gets
    ``empty_value`` (not capped): SIM's code uses 0 (any pixel predicted as that class
    passes), but under PixIntraDA's Eq. 2 a 0 makes every pixel easy, so the default is
    1.0; pass 0.0 to reproduce SIM. Returns (C,) float32.
    """
    check_unit(cap, 'median_thresholds: cap')
    check_unit(empty_value, 'median_thresholds: empty_value', low_open=False)
    thr = []
    for c in range(hist.num_classes):
        n = hist.count(c)
        thr.append(empty_value if n == 0 else min(cap, hist.sorted_value(round(n * 0.5), c)))
    return torch.tensor(thr, dtype=torch.float32)


def any_class_pseudo_labels(scores: Tensor, thresholds: Tensor) -> np.ndarray:
    """PixIntraDA Eq. 2-3 as written: a pixel is easy iff SOME class k has
    ``y^k >= alpha * t_k`` (``thresholds`` = the scaled ``alpha * t_k``), and its label
    is the arg-max over those classes only; hard pixels get 255. ``scores`` (C, H, W).
    Returns (H, W) uint8."""
    thr = thresholds.to(device=scores.device, dtype=scores.dtype).view(-1, 1, 1)
    above = scores >= thr
    label = scores.masked_fill(~above, float('-inf')).argmax(dim=0)
    label = torch.where(above.any(dim=0), label, torch.full_like(label, IGNORE_INDEX))
    return label.cpu().numpy().astype(np.uint8)


@PSEUDO_LABEL_POLICIES.register_module(name=['median', 'MedianPolicy'])
class MedianPolicy(BasePseudoLabelPolicy):
    """SIM / PixIntraDA: ``t_k = min(class median, cap)``.

    Args:
        cap (float): upper bound in (0, 1]. Default: 0.9.
        empty_value (float): threshold of a class never predicted. Default: 1.0.
        rule (str): 'argmax' (default; BDL / SIM code: the arg-max class passes its
            threshold) or 'any' (PixIntraDA Eq. 2-3 as written: any class passing its
            threshold makes the pixel easy, labelled with the best such class; the hook
            then scores the target set a second time).
        scale (float): PixIntraDA's alpha (Eq. 2). Default: 1.
    """

    def __init__(self, cap: float = 0.9, empty_value: float = 1.0,
                 rule: str = 'argmax', scale: float = 1.0) -> None:
        super().__init__(scale)
        if rule not in RULES:
            raise ValueError(f'MedianPolicy: rule must be one of {RULES}, got {rule!r}')
        self.cap = cap
        self.empty_value = empty_value
        self.rule = rule
        self.uses_probabilities = rule == 'any'

    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        return median_thresholds(hist, self.cap, self.empty_value)

    def select_probabilities(self, scores: Tensor, thresholds: Tensor) -> np.ndarray:
        return any_class_pseudo_labels(scores, thresholds)
