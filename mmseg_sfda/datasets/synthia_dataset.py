"""SYNTHIA-RAND-CITYSCAPES, labels from ``dataset_converters/synthia.py``."""
from mmseg.registry import DATASETS

from .converted_seg_dataset import ConvertedSegDataset


@DATASETS.register_module()
class SynthiaDataset(ConvertedSegDataset):
    """SYNTHIA: ``RGB/<id>.png`` with ``GT/LABELS/<id>_labelTrainIds.png``.

    Labels are in the 19-class Cityscapes train-ID space (255 ignore); only
    16 classes occur, and results are scored on those 16 (or 13) by the
    metric's class subset.
    """
    DATASET_NAME = 'SYNTHIA'
    CONVERTER = 'synthia'
    LAYOUT = '<root>/RGB/*.png and <root>/GT/LABELS/*_labelTrainIds.png'

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: dict = dict(
                     img_path='RGB', seg_map_path='GT/LABELS'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)
