"""GTA5 (source domain), labels from ``tools/dataset_converters/gta5.py``."""
from mmseg.registry import DATASETS

from .converted_seg_dataset import ConvertedSegDataset


@DATASETS.register_module()
class GTA5Dataset(ConvertedSegDataset):
    """GTA5: ``images/<id>.png`` with ``labels/<id>_labelTrainIds.png``.

    Only ``images/`` is listed, so the raw palette labels in ``labels/`` are
    never taken for samples. Labels are 19 Cityscapes train IDs, 255 ignore.
    """
    DATASET_NAME = 'GTA5'
    CONVERTER = 'gta5'
    LAYOUT = '<root>/images/*.png and <root>/labels/*_labelTrainIds.png'

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: dict = dict(
                     img_path='images', seg_map_path='labels'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)
