"""Raw label -> ``*_labelTrainIds.png`` converters (functions, see tools/)."""
from .cityscapes import convert_cityscapes, read_cityscapes_label
from .common import ConvertSummary, LabelFormatError, map_ids
from .gta5 import convert_gta5, read_gta5_label
from .nthu import convert_nthu, read_nthu_label
from .synthia import convert_synthia, read_synthia_label

__all__ = [
    'ConvertSummary', 'LabelFormatError', 'map_ids', 'convert_cityscapes',
    'read_cityscapes_label', 'convert_gta5',
    'read_gta5_label', 'convert_nthu', 'read_nthu_label', 'convert_synthia',
    'read_synthia_label'
]
