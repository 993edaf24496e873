"""Stop training at the first label map with a class id the model cannot predict."""
from typing import Any, Iterator, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from mmseg_sfda.utils.bad_input import BadInputError


def _samples(batch: Any) -> Iterator[SegDataSample]:
    """Every ``SegDataSample`` of a (possibly nested, e.g. source / target) batch."""
    if isinstance(batch, SegDataSample):
        yield batch
    elif isinstance(batch, dict):
        for value in batch.values():
            yield from _samples(value)
    elif isinstance(batch, (list, tuple)):
        for value in batch:
            yield from _samples(value)


@HOOKS.register_module()
class LabelRangeCheckHook(Hook):
    """Raise :class:`BadInputError` naming the label file when a training label holds a
    class id >= the decode head's ``num_classes`` (other than its ``ignore_index``).

    Without it such a label reaches the cross-entropy loss and fails deep inside torch
    ("Target 25 is out of bounds", or a CUDA device assert) naming no file. Raw dataset
    ids (unconverted GTA5 / Cityscapes labels), pseudo labels of a run with more classes
    and a ``num_classes`` below the data's all end here. ``tools/train.py`` adds it.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.num_classes: Optional[int] = None
        self.ignore_index = 255

    def before_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        segmentor = getattr(model, 'segmentor', model)
        segmentor = segmentor.module if is_model_wrapper(segmentor) else segmentor
        head = getattr(segmentor, 'decode_head', None)
        if isinstance(head, torch.nn.ModuleList):  # cascade heads: the last predicts
            head = head[-1]
        self.num_classes = getattr(head, 'num_classes', None)
        self.ignore_index = getattr(head, 'ignore_index', 255)

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self.num_classes is None or data_batch is None:
            return
        for sample in _samples(data_batch):
            if 'gt_sem_seg' not in sample:
                continue
            label = sample.gt_sem_seg.data
            bad = (label >= self.num_classes) & (label != self.ignore_index)
            if bad.any():
                self._raise(sample, label[bad])

    def _raise(self, sample: SegDataSample, bad: torch.Tensor) -> None:
        meta = sample.metainfo
        path = meta.get('pseudo_label_path') or meta.get('seg_map_path')
        where = f'label {path} (image {meta.get("img_path")})' if path else \
            f'the label of image {meta.get("img_path")}'
        values = sorted({int(v) for v in bad.unique()[:8]})
        raise BadInputError(
            f'{where} holds class id(s) {values}, but the model predicts '
            f'{self.num_classes} classes (0..{self.num_classes - 1}, {self.ignore_index} '
            'ignored). Labels must be train ids: convert raw labels with '
            'tools/dataset_converters/, regenerate pseudo labels with this model, or set '
            'the decode head\'s num_classes to the data\'s class count.')
