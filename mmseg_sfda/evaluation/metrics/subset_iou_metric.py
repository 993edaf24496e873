"""IoU metric over several class subsets from one confusion matrix."""
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from PIL import Image
from prettytable import PrettyTable

from mmseg.registry import METRICS
from ...utils.class_maps import NTHU_MERGE, SUBSET_13, SUBSET_16

SubsetSpec = Union[str, Sequence[int]]

# Names accepted in ``subsets`` values besides explicit lists of train IDs.
NAMED_SUBSETS: Dict[str, Optional[Tuple[int, ...]]] = {
    'all': None,  # every class (minus classes merged away by ``merge``)
    '19': None,
    '16': SUBSET_16,
    '13': SUBSET_13,
}
NAMED_MERGES: Dict[str, Dict[int, int]] = {'nthu': NTHU_MERGE}


def confusion_matrix(pred: np.ndarray, label: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """Return the ``(num_classes, num_classes)`` int64 confusion matrix.

    ``conf[gt, pred]`` counts pixels of ground-truth class ``gt`` predicted as
    ``pred``. Pixels whose label is ``ignore_index`` (or any value outside
    ``[0, num_classes)``) are excluded. Predictions must lie in
    ``[0, num_classes)`` on the counted pixels.
    """
    pred = np.asarray(pred).reshape(-1).astype(np.int64)
    label = np.asarray(label).reshape(-1).astype(np.int64)
    if pred.shape != label.shape:
        raise ValueError(f'pred and label have different numbers of pixels: '
                         f'{pred.size} vs {label.size}')
    valid = (label != ignore_index) & (label >= 0) & (label < num_classes)
    pred, label = pred[valid], label[valid]
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes):
        bad = pred[(pred < 0) | (pred >= num_classes)][0]
        raise ValueError(f'prediction value {int(bad)} is outside '
                         f'[0, num_classes={num_classes})')
    counts = np.bincount(
        label * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` (fraction, NaN if union is 0)."""
    conf = np.asarray(conf, dtype=np.float64)
    intersect = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - intersect
    with np.errstate(divide='ignore', invalid='ignore'):
        return intersect / union


def acc_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class accuracy ``TP / (TP + FN)`` (fraction, NaN if no GT pixel)."""
    conf = np.asarray(conf, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.diag(conf) / conf.sum(1)


def overall_acc_from_confusion(conf: np.ndarray) -> float:
    """Pixel accuracy over all counted pixels (fraction, NaN if empty)."""
    conf = np.asarray(conf, dtype=np.float64)
    total = conf.sum()
    return float(np.trace(conf) / total) if total > 0 else float('nan')


def nanmean_percent(values: np.ndarray) -> float:
    """``nanmean(values) * 100`` rounded to 2 decimals; NaN if all NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', category=RuntimeWarning)
        return float(np.round(np.nanmean(values) * 100, 2))


def merge_lut(merge: Dict[int, int], num_classes: int) -> np.ndarray:
    """Lookup table over ``[0, num_classes)`` mapping ``src -> dst``."""
    lut = np.arange(num_classes, dtype=np.int64)
    for src, dst in merge.items():
        lut[src] = dst
    return lut


@METRICS.register_module()
class SubsetIoUMetric(BaseMetric):
    """mIoU over several class subsets at once (drop-in for ``IoUMetric``).

    A ``num_classes x num_classes`` confusion matrix is accumulated image by
    image (memory independent of the dataset size); at the end aAcc, per-class
    IoU/Acc and, for each entry of ``subsets``, the mIoU and mAcc over that
    subset are computed. Like mmseg, values are percentages rounded to 2
    decimals, and a class absent from both prediction and label has NaN IoU
    and is left out of the subset mean (``np.nanmean``) unless ``nan_to_num``
    is set.

    Args:
        subsets (dict, optional): Logged metric name -> class subset. A subset
            is ``'all'``/``'19'`` (all classes), ``'16'`` (SYNTHIA protocol),
            ``'13'`` (mIoU* / NTHU) or an explicit list of train IDs. For a
            name ``'mIoU<suffix>'`` the mean accuracy is logged as
            ``'mAcc<suffix>'``, otherwise as ``'<name>_mAcc'``.
            Defaults to ``dict(mIoU='all')`` which logs aAcc/mIoU/mAcc exactly
            like ``IoUMetric``.
        merge (dict | str, optional): Train-ID remapping ``{src: dst}`` applied
            to predictions AND labels before accumulation, or ``'nthu'`` for
            ``class_maps.NTHU_MERGE``. Merged-away classes never occur after
            remapping: they are dropped from ``'all'`` and must not appear in
            explicit subsets. Default: None (no merge). The NTHU Cross-City
            protocol of the papers is ``subsets=dict(mIoU13='13')`` WITHOUT
            a merge: a 19-class prediction of wall where the label says
            building is an error. ``'nthu'`` (wall / fence / pole ->
            building, terrain -> vegetation, truck -> car) is a lenient
            variant: use it only for a model trained on those 13 merged
            classes or to compare with work that reports it; its numbers
            are higher and not comparable with the papers'.
        num_classes (int, optional): Number of classes. Defaults to
            ``len(dataset_meta['classes'])``.
        ignore_index (int): Label value excluded from evaluation. Labels
            outside ``[0, num_classes)`` are excluded as well. Default: 255.
        iou_metrics (list[str] | str): Only ``['mIoU']`` is supported.
        nan_to_num (float, optional): Replace NaN per-class IoU/Acc by this
            value before averaging (as in mmseg). Default: None.
        collect_device (str): Device for collecting results across ranks.
        output_dir (str, optional): Write each prediction as ``<image name>.png``
            (train ids; +1 with ``reduce_zero_label``) here, as ``IoUMetric`` does
            (``tools/test.py --out``; mmseg's ``confusion_matrix.py`` reads them).
        format_only (bool): Only write the predictions (no ground truth needed, no
            metrics), e.g. for a test server.
        keep_results (bool): Set by mmseg's ``tools/test.py --out``; the predictions
            are written to ``output_dir`` either way.
        prefix (str, optional): Prefix of the metric names.

    Note:
        With distributed evaluation, samples duplicated by a padding sampler
        are counted (the per-rank sums cannot drop them, unlike IoUMetric).
    """

    def __init__(self,
                 subsets: Optional[Dict[str, SubsetSpec]] = None,
                 merge: Optional[Union[str, Dict[int, int]]] = None,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 iou_metrics: Union[str, List[str]] = ['mIoU'],
                 nan_to_num: Optional[float] = None,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 keep_results: bool = False,
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and not output_dir:
            raise ValueError('SubsetIoUMetric: format_only=True writes the predictions '
                             'to output_dir; set output_dir (tools/test.py --out DIR)')
        self.output_dir = output_dir
        self.format_only = format_only
        self.keep_results = keep_results
        if output_dir and is_main_process():
            mkdir_or_exist(output_dir)
        metrics = [iou_metrics] if isinstance(iou_metrics, str) \
            else list(iou_metrics)
        if metrics != ['mIoU']:
            raise ValueError(
                f"iou_metrics must be ['mIoU'], got {iou_metrics}")
        if num_classes is not None and (not isinstance(num_classes, int)
                                        or num_classes <= 0):
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}')
        self.ignore_index = ignore_index
        self.nan_to_num = nan_to_num
        self._num_classes = num_classes
        self.merge = self._parse_merge(merge)
        self.subset_specs = self._parse_subsets(subsets)
        if num_classes is not None:
            self._check_ranges(num_classes)

    # ------------------------------------------------------------ config
    @staticmethod
    def _parse_merge(
            merge: Optional[Union[str, Dict[int, int]]]) -> Dict[int, int]:
        """Return the merge mapping as a plain ``{int: int}`` dict."""
        if merge is None:
            return {}
        if isinstance(merge, str):
            if merge not in NAMED_MERGES:
                raise ValueError(f'merge must be a dict or one of '
                                 f'{sorted(NAMED_MERGES)}, got {merge!r}')
            return dict(NAMED_MERGES[merge])
        if not isinstance(merge, dict):
            raise TypeError(f'merge must be a dict or str, got {merge!r}')
        out = {}
        for src, dst in merge.items():
            if not _is_int(src) or not _is_int(dst):
                raise ValueError(
                    f'merge entries must be int -> int, got {src!r}: {dst!r}')
            out[int(src)] = int(dst)
        chained = sorted(set(out) & set(out.values()))
        if chained:
            raise ValueError(f'merge targets must not be merged themselves, '
                             f'got merge={merge} (ids {chained})')
        return out

    @staticmethod
    def _parse_subsets(
        subsets: Optional[Dict[str, SubsetSpec]]
    ) -> 'OrderedDict[str, Optional[Tuple[int, ...]]]':
        """Resolve subset names; ``None`` stands for 'all classes'."""
        if subsets is None:
            subsets = dict(mIoU='all')
        if not isinstance(subsets, dict) or not subsets:
            raise ValueError(
                f'subsets must be a non-empty dict, got {subsets!r}')
        specs: 'OrderedDict[str, Optional[Tuple[int, ...]]]' = OrderedDict()
        for name, spec in subsets.items():
            if not isinstance(name, str) or name == 'aAcc':
                raise ValueError(f'subsets key must be a str other than '
                                 f"'aAcc', got {name!r}")
            if isinstance(spec, int):
                spec = str(spec)
            if isinstance(spec, str):
                if spec not in NAMED_SUBSETS:
                    raise ValueError(
                        f'subsets[{name!r}] must be one of '
                        f'{sorted(NAMED_SUBSETS)} or a list of class ids, '
                        f'got {spec!r}')
                specs[name] = NAMED_SUBSETS[spec]
                continue
            ids = list(spec)
            if not ids or not all(_is_int(i) for i in ids):
                raise ValueError(f'subsets[{name!r}] must be a non-empty list '
                                 f'of int class ids, got {spec!r}')
            if len(set(ids)) != len(ids):
                raise ValueError(
                    f'subsets[{name!r}] has duplicate ids: {spec!r}')
            specs[name] = tuple(int(i) for i in ids)
        keys = ['aAcc'] + list(specs) + [_acc_name(k) for k in specs]
        if len(set(keys)) != len(keys):
            raise ValueError(f'subsets keys {list(specs)} give clashing '
                             f'metric names {keys}')
        return specs

    def _check_ranges(self, num_classes: int) -> None:
        """Validate merge / subset ids against ``num_classes``."""
        for src, dst in self.merge.items():
            if not (0 <= src < num_classes and 0 <= dst < num_classes):
                raise ValueError(
                    f'merge entry {src}: {dst} is outside '
                    f'[0, num_classes={num_classes}) (merge={self.merge})')
        for name, ids in self.subset_specs.items():
            if ids is None:
                continue
            bad = [i for i in ids if not 0 <= i < num_classes]
            if bad:
                raise ValueError(
                    f'subsets[{name!r}] has ids {bad} outside '
                    f'[0, num_classes={num_classes}): {list(ids)}')
            merged = [i for i in ids if i in self.merge]
            if merged:
                raise ValueError(
                    f'subsets[{name!r}] contains ids {merged} that merge '
                    f'maps to other classes (merge={self.merge}); they never '
                    'occur after merging')

    @property
    def num_classes(self) -> int:
        """Number of classes, from the constructor or ``dataset_meta``."""
        if self._num_classes is not None:
            return self._num_classes
        if not self.dataset_meta or 'classes' not in self.dataset_meta:
            raise RuntimeError('SubsetIoUMetric needs num_classes or '
                               "dataset_meta['classes']")
        return len(self.dataset_meta['classes'])

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Set dataset meta and validate ids against its classes."""
        self._dataset_meta = dataset_meta
        if dataset_meta and 'classes' in dataset_meta:
            n = len(dataset_meta['classes'])
            if self._num_classes is not None and self._num_classes != n:
                raise ValueError(
                    f'num_classes={self._num_classes} does not match the '
                    f"{n} classes in dataset_meta['classes']")
            self._check_ranges(n)

    def subset_ids(self) -> 'OrderedDict[str, Tuple[int, ...]]':
        """Resolved class ids of every subset (``'all'`` expanded)."""
        n = self.num_classes
        all_ids = tuple(i for i in range(n) if i not in self.merge)
        return OrderedDict((name, all_ids if ids is None else ids)
                           for name, ids in self.subset_specs.items())

    # ------------------------------------------------------------ accumulate
    def accumulate(self, pred: Union[np.ndarray, torch.Tensor],
                   label: Union[np.ndarray, torch.Tensor]) -> None:
        """Add one image (any shape, same number of pixels) to the sums."""
        n = self.num_classes
        pred, label = _to_numpy(pred), _to_numpy(label)
        if self.merge:
            pred, label = self._apply_merge(pred, label, n)
        conf = confusion_matrix(pred, label, n, self.ignore_index)
        if not self.results:
            self.results.append(np.zeros((n, n), dtype=np.int64))
        self.results[0] += conf

    def _apply_merge(self, pred: np.ndarray, label: np.ndarray,
                     n: int) -> Tuple[np.ndarray, np.ndarray]:
        """Remap in-range values of pred and label with ``self.merge``."""
        lut = merge_lut(self.merge, n)
        pred, label = pred.astype(np.int64), label.astype(np.int64)
        pred = np.where((pred >= 0) & (pred < n), lut[np.clip(pred, 0, n - 1)],
                        pred)
        in_range = (label >= 0) & (label < n) & (label != self.ignore_index)
        label = np.where(in_range, lut[np.clip(label, 0, n - 1)], label)
        return pred, label

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate the confusion matrix of every sample of a batch (and write the
        predictions to ``output_dir``)."""
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze()
            if not self.format_only:
                label = data_sample['gt_sem_seg']['data'].squeeze()
                self.accumulate(pred, label)
            if self.output_dir is not None:
                self._write_prediction(pred, data_sample)

    def _write_prediction(self, pred: torch.Tensor, data_sample: dict) -> None:
        """``output_dir/<image name>.png`` as ``IoUMetric`` writes it."""
        name = osp.splitext(osp.basename(data_sample['img_path']))[0]
        mask = _to_numpy(pred).astype(np.int64)
        if data_sample.get('reduce_zero_label', False):
            mask = mask + 1
        Image.fromarray(mask.astype(np.uint8)).save(
            osp.abspath(osp.join(self.output_dir, f'{name}.png')))

    # ------------------------------------------------------------ compute
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Sum per-rank confusion matrices and compute the metrics."""
        if self.format_only:
            print_log(f'predictions are written to {self.output_dir}', 'current')
            return OrderedDict()
        n = self.num_classes
        conf = np.zeros((n, n), dtype=np.int64)
        for part in results:
            conf += np.asarray(part, dtype=np.int64)
        metrics, iou, acc = self.metrics_from_confusion(conf)
        self._log_table(iou, acc)
        return metrics

    def metrics_from_confusion(
            self, conf: np.ndarray
    ) -> Tuple[Dict[str, float], np.ndarray, np.ndarray]:
        """Return ``(metrics, per-class IoU, per-class Acc)`` (fractions)."""
        iou, acc = iou_from_confusion(conf), acc_from_confusion(conf)
        if self.nan_to_num is not None:
            iou = np.nan_to_num(iou, nan=self.nan_to_num)
            acc = np.nan_to_num(acc, nan=self.nan_to_num)
        metrics: Dict[str, float] = OrderedDict()
        metrics['aAcc'] = float(
            np.round(overall_acc_from_confusion(conf) * 100, 2))
        for name, ids in self.subset_ids().items():
            metrics[name] = nanmean_percent(iou[list(ids)])
            metrics[_acc_name(name)] = nanmean_percent(acc[list(ids)])
        return metrics, iou, acc

    def _log_table(self, iou: np.ndarray, acc: np.ndarray) -> None:
        """Print the per-class table marking subset membership and merges."""
        logger: MMLogger = MMLogger.get_current_instance()
        names = self._class_names()
        table = PrettyTable()
        table.add_column('Class', names)
        table.add_column('IoU', list(np.round(iou * 100, 2)))
        table.add_column('Acc', list(np.round(acc * 100, 2)))
        for name, ids in self.subset_ids().items():
            members = set(ids)
            table.add_column(
                name, ['x' if i in members else '' for i in range(len(names))])
        if self.merge:
            table.add_column('merged into', [
                names[self.merge[i]] if i in self.merge else ''
                for i in range(len(names))
            ])
        print_log('per class results:', logger)
        print_log('\n' + table.get_string(), logger=logger)

    def _class_names(self) -> List[str]:
        """Class names from ``dataset_meta`` or their indices."""
        if self.dataset_meta and 'classes' in self.dataset_meta:
            return [str(c) for c in self.dataset_meta['classes']]
        return [str(i) for i in range(self.num_classes)]


def _acc_name(iou_name: str) -> str:
    """Name of the mean-accuracy entry logged next to ``iou_name``."""
    if iou_name.startswith('mIoU'):
        return 'mAcc' + iou_name[len('mIoU'):]
    return iou_name + '_mAcc'


def _is_int(value) -> bool:
    """True for Python / numpy ints (not bools)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _to_numpy(x: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
    """Detach a tensor to a CPU numpy array (numpy input passes through)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
