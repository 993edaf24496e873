from .label_range_check_hook import LabelRangeCheckHook
from .pseudo_label_hook import PseudoLabelHook

__all__ = ['LabelRangeCheckHook', 'PseudoLabelHook']
