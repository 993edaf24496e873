from .all_pixels_policy import AllPixelsPolicy
from .base_pseudo_label_policy import BasePseudoLabelPolicy, self_paced_portion
from .class_portion_policy import (ClassPortionPolicy, class_portion_thresholds,
                                   normalized_pseudo_labels)
from .global_portion_policy import GlobalPortionPolicy, global_portion_threshold
from .median_policy import MedianPolicy, any_class_pseudo_labels, median_thresholds
from .top_k_policy import TopKPolicy, top_k_thresholds

__all__ = [
    'BasePseudoLabelPolicy', 'AllPixelsPolicy', 'ClassPortionPolicy', 'GlobalPortionPolicy',
    'MedianPolicy', 'TopKPolicy', 'class_portion_thresholds', 'global_portion_threshold',
    'median_thresholds', 'top_k_thresholds', 'self_paced_portion',
    'normalized_pseudo_labels', 'any_class_pseudo_labels'
]
