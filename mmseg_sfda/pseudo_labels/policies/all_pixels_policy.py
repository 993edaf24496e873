"""Every pixel keeps its arg-max class (threshold 0)."""
import torch
from torch import Tensor

from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from ..class_confidence_histogram import ClassConfidenceHistogram
from .base_pseudo_label_policy import BasePseudoLabelPolicy


@PSEUDO_LABEL_POLICIES.register_module(name=['all', 'AllPixelsPolicy'])
class AllPixelsPolicy(BasePseudoLabelPolicy):
    """No threshold: the pseudo label is the arg-max prediction everywhere."""

    def class_thresholds(self, hist: ClassConfidenceHistogram, round_idx: int) -> Tensor:
        return torch.zeros(hist.num_classes)
