"""DAS3: category-level top-K thresholds (Eq. 4-5)."""
from torch import Tensor

from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from ..class_confidence_histogram import ClassConfidenceHistogram
from .base_pseudo_label_policy import BasePseudoLabelPolicy, check_unit
from .class_portion_policy import class_portion_thresholds


def top_k_thresholds(hist: ClassConfidenceHistogram, k: float = 0.65,
                     rounding: str = 'floor') -> Tensor:
    """DAS3 category-level thresholds ``lambda_c`` (Eq. 4; Sec. 4.1 K=65%).

    Eq. 4 keeps pixel n as class c iff ``c = argmax p_n`` and ``p_n^c > lambda_c``, with
    ``lambda_c`` "determined by the top K predictions within the class c": the score at
    descending rank ``floor(K * N_c)`` of class c, i.e. a pixel is kept iff it is within
    the top K% of its predicted class (``>=``: exactly the top K%, up to ties and one
    bin). This equals ``class_portion_thresholds(hist, k)``; an empty class gets 1.0.
    """
    check_unit(k, 'top_k_thresholds: k')
    return class_portion_thresholds(hist, k, rounding)


@PSEUDO_LABEL_POLICIES.register_module(name=['top_k', 'TopKPolicy'])
class TopKPolicy(BasePseudoLabelPolicy):
    """DAS3: per class, keep its top ``k`` (0.65) pixels.

    Args:
        k (float): kept fraction K of each class, in (0, 1]. Default: 0.65.
        rounding (str): 'floor' or 'round'. Default: 'floor'.
        scale (float): see :class:`BasePseudoLabelPolicy`.
    """

    def __init__(self, k: float = 0.65, rounding: str = 'floor',
                 scale: float = 1.0) -> None:
        super().__init__(scale)
        self.k = k
        self.rounding = rounding

    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        return top_k_thresholds(hist, self.k, self.rounding)
