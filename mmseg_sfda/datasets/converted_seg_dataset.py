"""Base of the datasets whose labels come from our converters."""
import logging
import os.path as osp
from typing import Any, List, Tuple

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from PIL import Image

from mmseg_sfda.utils.bad_input import BadInputError

from ..utils.class_maps import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE


class ConvertedSegDataset(BaseSegDataset):
    """BaseSegDataset with clear errors for a missing or unconverted tree.

    Labels are the converters' ``*_labelTrainIds.png`` (19 Cityscapes train
    IDs, 255 ignore). Leave ``seg_map_path`` out of ``data_prefix`` (or set
    it to None) for unlabelled use, e.g. as a target domain.

    Args:
        skip_missing_labels (bool): leave out images without a converted
            label (e.g. pairs the converter skipped for a size mismatch)
            instead of raising. Defaults to False.
        check_label_size (bool): before the pipeline, compare the image and
            label sizes from their file headers (cheap) and raise naming both
            files when they differ, so a misaligned pair is never trained or
            scored. Local files only. Defaults to True.
        **kwargs: see :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(classes=CITYSCAPES_CLASSES, palette=CITYSCAPES_PALETTE)
    DATASET_NAME = ''
    CONVERTER = ''  # tools/dataset_converters/<CONVERTER>.py
    LAYOUT = ''  # expected tree, for error messages

    def __init__(self,
                 skip_missing_labels: bool = False,
                 check_label_size: bool = True,
                 **kwargs) -> None:
        self.skip_missing_labels = skip_missing_labels
        self.check_label_size = check_label_size
        prefix = kwargs.get('data_prefix')
        if prefix is not None:  # mmengine rejects None prefixes
            kwargs['data_prefix'] = {
                k: v
                for k, v in prefix.items() if v is not None
            }
        self._raw_root = kwargs.get('data_root')
        super().__init__(**kwargs)

    @property
    def with_labels(self) -> bool:
        """Whether samples carry a ``seg_map_path``."""
        return bool(self.data_prefix.get('seg_map_path'))

    def converter_cmd(self) -> str:
        """The command that prepares this dataset's labels."""
        root = self._raw_root or '<root>'
        return f'python tools/dataset_converters/{self.CONVERTER}.py {root}'

    def load_data_list(self) -> List[dict]:
        """List samples, raising clear errors for missing files."""
        local = not self.backend_args
        if local:
            self._check_folders()
        data_list = self.list_samples()
        if not data_list:
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: no images found in '
                f'{self.data_prefix.get("img_path")} (suffix '
                f'{self.img_suffix!r}). Expected {self.LAYOUT}.')
        if self.with_labels and local:
            data_list = self._check_labels(data_list)
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """Check the image/label sizes of sample ``idx``, then run the
        pipeline."""
        data_info = self.get_data_info(idx)
        seg = data_info.get('seg_map_path')
        if self.check_label_size and seg and not self.backend_args:
            self._check_label_size(data_info['img_path'], seg)
        return self.pipeline(data_info)

    def _check_label_size(self, img_path: str, seg_map_path: str) -> None:
        """Raise ``BadInputError`` (a ValueError) naming both files when their sizes differ."""
        img_hw, seg_hw = _header_hw(img_path), _header_hw(seg_map_path)
        if img_hw != seg_hw:
            raise BadInputError(
                f'{self.DATASET_NAME}: image {img_path} is '
                f'{img_hw[0]}x{img_hw[1]} but its label {seg_map_path} is '
                f'{seg_hw[0]}x{seg_hw[1]} (HxW); a misaligned pair is never '
                f'used. Re-convert with `{self.converter_cmd()}` (it checks '
                'every pair and resizes or skips mismatched labels).')

    def list_samples(self) -> List[dict]:
        """The raw sample list; mmseg's directory / ``ann_file`` listing."""
        return super().load_data_list()

    def _check_folders(self) -> None:
        name, layout = self.DATASET_NAME, self.LAYOUT
        if self._raw_root is not None and not osp.isdir(self._raw_root):
            raise FileNotFoundError(
                f'{name} root not found: {self._raw_root}. Expected '
                f'{layout}; then run `{self.converter_cmd()}`.')
        img_dir = self.data_prefix.get('img_path')
        if img_dir and not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'{name} image folder not found: {img_dir}. Expected '
                f'{layout}.')
        label_dir = self.data_prefix.get('seg_map_path')
        if label_dir and not osp.isdir(label_dir):
            raise FileNotFoundError(
                f'{name} label folder not found: {label_dir}. Expected '
                f'{layout}; write the labels with `{self.converter_cmd()}` '
                '(for unlabelled use drop seg_map_path from data_prefix).')

    def _check_labels(self, data_list: List[dict]) -> List[dict]:
        """Raise (or drop, with ``skip_missing_labels``) unlabelled images."""
        missing = [d for d in data_list if not osp.isfile(d['seg_map_path'])]
        if not missing:
            return data_list
        first = missing[0]
        example = (f'image {first["img_path"]} has no label '
                   f'{first["seg_map_path"]}')
        if self.skip_missing_labels:
            print_log(
                f'{self.DATASET_NAME}: leaving out {len(missing)} of '
                f'{len(data_list)} images without a label (skip_missing_'
                f'labels=True), e.g. {example}',
                logger='current',
                level=logging.WARNING)
            kept = [d for d in data_list if osp.isfile(d['seg_map_path'])]
            if not kept:
                raise FileNotFoundError(
                    f'{self.DATASET_NAME}: no image has a label; run '
                    f'`{self.converter_cmd()}`.')
            return kept
        if len(missing) == len(data_list):
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: none of the {len(data_list)} images '
                f'has a converted *{self.seg_map_suffix} label ({example}). '
                f'Run `{self.converter_cmd()}` first (for unlabelled use '
                'drop seg_map_path from data_prefix).')
        raise FileNotFoundError(
            f'{self.DATASET_NAME}: {example} ({len(missing)} of '
            f'{len(data_list)} images lack a label). Re-run '
            f'`{self.converter_cmd()}` (it resumes); pairs it skipped '
            '(--on-mismatch skip) are left out with '
            'skip_missing_labels=True.')


def _header_hw(path: str) -> Tuple[int, int]:
    """``(height, width)`` of an image read from its header only."""
    with Image.open(path) as im:
        return im.size[1], im.size[0]
