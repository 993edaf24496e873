"""NTHU Cross-City (Rome, Rio, Tokyo, Taipei) target domain."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import mmengine
import mmengine.fileio as fileio
from mmseg.registry import DATASETS

from .converted_seg_dataset import ConvertedSegDataset

NTHU_CITIES = ('Rome', 'Rio', 'Tokyo', 'Taipei')
_SPLIT_SUFFIXES = {'train': ('.jpg', ), 'test': ('.png', '.jpg')}


@DATASETS.register_module()
class NTHUDataset(ConvertedSegDataset):
    """One NTHU city: ``data_root=<root>/<City>`` (or ``<root>`` + ``city``).

    * ``split='train'``: ``Images/Train/<stem>.jpg``, unlabelled.
    * ``split='test'``: ``Images/Test/<stem>.png|.jpg`` (mixed suffixes) with
      ``Labels/Test/<stem>_labelTrainIds.png`` written from ``_eval.png`` by
      ``tools/dataset_converters/nthu.py``. ``_city`` / ``_bgr`` /
      ``_visual`` files beside them are never read.

    Args:
        city (str, optional): city folder under ``data_root``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'test'``.
        data_prefix (dict, optional): defaults to the split's folders.
        img_suffixes (tuple, optional): image suffixes to list; defaults to
            ``.jpg`` for train and ``.png``/``.jpg`` for test.
    """
    DATASET_NAME = 'NTHU'
    CONVERTER = 'nthu'

    def __init__(self,
                 data_root: Optional[str] = None,
                 city: Optional[str] = None,
                 split: str = 'test',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: Optional[dict] = None,
                 img_suffixes: Optional[Tuple[str, ...]] = None,
                 **kwargs) -> None:
        split = split.lower()
        if split not in _SPLIT_SUFFIXES:
            raise ValueError(f'NTHU: split={split!r}; expected one of '
                             f'{tuple(_SPLIT_SUFFIXES)}')
        self.split = split
        self.city = city
        self.nthu_root = data_root
        if city is not None and data_root is not None:
            data_root = osp.join(data_root, city)
        self.img_suffixes = tuple(img_suffixes or _SPLIT_SUFFIXES[split])
        if data_prefix is None:
            data_prefix = dict(img_path=osp.join('Images', split.title()))
            if split == 'test':
                data_prefix['seg_map_path'] = osp.join('Labels', 'Test')
        self.LAYOUT = self._layout()
        super().__init__(
            img_suffix=self.img_suffixes[0],
            seg_map_suffix=seg_map_suffix,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _layout(self) -> str:
        folder = osp.join('Images', self.split.title())
        text = (f'<root>/<City>/{folder}/<stem>'
                f'{"|".join(self.img_suffixes)}')
        if self.split == 'test':
            text += ' and <root>/<City>/Labels/Test/<stem>_labelTrainIds.png'
        return text

    def converter_cmd(self) -> str:
        """The converter command for this city."""
        if self.city is not None:
            return (f'python tools/dataset_converters/nthu.py '
                    f'{self.nthu_root} --cities {self.city}')
        root = self._raw_root
        if root is None:
            return 'python tools/dataset_converters/nthu.py <root>'
        parent, city = osp.split(osp.normpath(root))
        return (f'python tools/dataset_converters/nthu.py {parent or "."} '
                f'--cities {city}')

    def _check_folders(self) -> None:
        root = self._raw_root
        if root is not None and not osp.isdir(root):
            hint = ''
            if self.city is not None and osp.isdir(self.nthu_root):
                present = sorted(
                    d for d in os.listdir(self.nthu_root)
                    if osp.isdir(osp.join(self.nthu_root, d)))
                hint = f' Cities present in {self.nthu_root}: {present}.'
            raise FileNotFoundError(
                f'NTHU city folder not found: {root}. Expected '
                f'{self.LAYOUT}.{hint}')
        if root is not None and self.city is None and not osp.isdir(
                osp.join(root, 'Images')):
            cities = [c for c in NTHU_CITIES if osp.isdir(osp.join(root, c))]
            if cities:
                raise FileNotFoundError(
                    f'NTHU: {root} holds cities {cities}, not a city: pass '
                    f'city=... or data_root={osp.join(root, cities[0])}.')
        super()._check_folders()

    def list_samples(self) -> List[dict]:
        """List ``<stem><suffix>`` for every suffix in ``img_suffixes``."""
        img_dir = self.data_prefix['img_path']
        label_dir = self.data_prefix.get('seg_map_path')
        data_list = []
        for stem, img in self._find_images(img_dir):
            info = dict(img_path=osp.join(img_dir, img))
            if label_dir:
                info['seg_map_path'] = osp.join(label_dir,
                                                stem + self.seg_map_suffix)
            info['label_map'] = self.label_map
            info['reduce_zero_label'] = self.reduce_zero_label
            info['seg_fields'] = []
            data_list.append(info)
        return data_list

    def _find_images(self, img_dir: str) -> List[Tuple[str, str]]:
        """Sorted ``(stem, file name)`` pairs; one image per stem."""
        names = [
            f for f in fileio.list_dir_or_file(
                img_dir,
                list_dir=False,
                suffix=self.img_suffixes,
                backend_args=self.backend_args)
            if not f.startswith('.')
        ]
        by_stem = {}
        for name in names:
            stem = osp.splitext(name)[0]
            if stem in by_stem:
                raise FileExistsError(
                    f'NTHU: two images for stem {stem!r} in {img_dir}: '
                    f'{by_stem[stem]} and {name}; keep one.')
            by_stem[stem] = name
        if self.ann_file:
            stems = [s.strip() for s in mmengine.list_from_file(self.ann_file)]
            unknown = [s for s in stems if s and s not in by_stem]
            if unknown:
                raise FileNotFoundError(
                    f'NTHU: {self.ann_file} lists {unknown[0]!r} but no '
                    f'{unknown[0]}{{{",".join(self.img_suffixes)}}} is in '
                    f'{img_dir}')
            return [(s, by_stem[s]) for s in stems if s]
        return sorted(by_stem.items())
