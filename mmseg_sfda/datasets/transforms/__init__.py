from .load_pseudo_label import LoadPseudoLabel
from .pack_seg_inputs_with_extras import PackSegInputsWithExtras
from .rare_class_crop import RareClassCrop

__all__ = ['LoadPseudoLabel', 'PackSegInputsWithExtras', 'RareClassCrop']
