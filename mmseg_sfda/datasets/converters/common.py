"""Shared machinery of the label converters (GTA5, SYNTHIA, NTHU).

Every converter turns raw label files into ``<stem>_labelTrainIds.png``
(mode ``L``, train IDs, 255 = ignore) written beside the raw label:

* one task per label file, run in parallel with a progress bar;
* writes are atomic (temp file in the same folder + ``os.replace``);
* a re-run skips outputs that already exist, are complete and newer than
  their source;
* IDs outside the mapping become 255 and are counted (one warning at the
  end);
* a file that cannot be read is named, collected and the run goes on.
"""
import logging
import os
import os.path as osp
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import (Callable, Dict, FrozenSet, Iterable, List, Optional,
                    Sequence, Tuple)

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from ..class_maps import IGNORE_INDEX

OUT_SUFFIX = '_labelTrainIds.png'
MISMATCH_MODES = ('resize', 'skip')
_PNG_END = b'IEND\xaeB`\x82'

LabelReader = Callable[[str], np.ndarray]


class LabelFormatError(ValueError):
    """A label file exists and decodes, but is not in the expected format."""


@dataclass
class LabelTask:
    """One label file to convert."""
    src: str
    dst: str
    img: Optional[str] = None  # image whose size the label must match


@dataclass
class FileResult:
    """Outcome of one :class:`LabelTask`.

    ``status`` is one of ``converted``, ``resized``, ``exists`` (complete
    output kept), ``skipped`` (size mismatch with ``on_mismatch='skip'``) or
    ``failed``.
    """
    src: str
    status: str
    message: str = ''
    ignored: Dict[int, int] = field(default_factory=dict)  # id -> pixels
    unknown: Dict[int, int] = field(default_factory=dict)  # id -> pixels


@dataclass
class ConvertSummary:
    """Totals of one converter run."""
    converted: List[str] = field(default_factory=list)
    existing: List[str] = field(default_factory=list)
    resized: List[Tuple[str, str]] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    ignored_pixels: Counter = field(default_factory=Counter)
    unknown_pixels: Counter = field(default_factory=Counter)
    unknown_files: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def add(self, res: FileResult) -> None:
        """Fold one file's result into the totals."""
        if res.status == 'failed':
            self.failed.append((res.src, res.message))
            return
        if res.status == 'exists':
            self.existing.append(res.src)
            return
        if res.status == 'skipped':
            self.skipped.append((res.src, res.message))
            return
        self.converted.append(res.src)
        if res.status == 'resized':
            self.resized.append((res.src, res.message))
        self.ignored_pixels.update(res.ignored)
        self.unknown_pixels.update(res.unknown)
        self.unknown_files.update(res.unknown.keys())


# ----------------------------------------------------------------- reading
def read_index_png(path: str, hint: str = '') -> np.ndarray:
    """Read a single-channel (``L``/``P``/``I;16``) PNG keeping raw indices.

    A palette image yields its palette INDEX (not its colours). An RGB(A)
    label raises :class:`LabelFormatError` naming the file.
    """
    with Image.open(path) as im:
        mode = im.mode
        if mode not in ('L', 'P', 'I;16', 'I'):
            raise LabelFormatError(
                f'{path}: label has image mode {mode!r}; expected a '
                f'single-channel index PNG (mode P or L). {hint}'.strip())
        arr = np.array(im)
    if arr.ndim != 2:
        raise LabelFormatError(f'{path}: label has shape {arr.shape}, '
                               'expected a 2-D index map')
    return arr


def read_image_size(path: str) -> Tuple[int, int]:
    """Return ``(height, width)`` of an image from its header."""
    with Image.open(path) as im:
        width, height = im.size
    return height, width


# ----------------------------------------------------------------- mapping
def map_ids(label: np.ndarray, lut: np.ndarray,
            valid_ids: FrozenSet[int]) -> Tuple[np.ndarray, Dict[int, int],
                                                Dict[int, int]]:
    """Map source IDs to train IDs with ``lut``.

    IDs beyond ``len(lut)`` (e.g. 16-bit SYNTHIA values) map to 255.

    Returns:
        tuple: the uint8 train-ID map, ``{id: pixels}`` of every source ID
        mapped to 255, and the subset of those that are not in ``valid_ids``
        (unknown IDs: a wrong file or a wrong reader).
    """
    if label.dtype.kind not in 'ui':
        raise LabelFormatError(
            f'label dtype {label.dtype} is not an integer type')
    if label.dtype.kind == 'i' or label.dtype.itemsize > 2:
        lo, hi = int(label.min()), int(label.max())
        if lo < 0 or hi > np.iinfo(np.uint16).max:
            raise LabelFormatError(
                f'label values span [{lo}, {hi}]; expected IDs in [0, 65535]')
        label = label.astype(np.uint16)
    counts = np.bincount(label.ravel(), minlength=len(lut))
    full_lut = np.full(len(counts), IGNORE_INDEX, dtype=np.uint8)
    full_lut[:len(lut)] = lut
    ignored_ids = np.nonzero((counts > 0) & (full_lut == IGNORE_INDEX))[0]
    ignored = {int(i): int(counts[i]) for i in ignored_ids}
    unknown = {i: n for i, n in ignored.items() if i not in valid_ids}
    return full_lut[label], ignored, unknown


def resize_nearest(label: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label map to ``(height, width)``."""
    im = Image.fromarray(label)
    return np.array(im.resize((hw[1], hw[0]), Image.NEAREST))


# ----------------------------------------------------------------- writing
def is_complete_png(path: str) -> bool:
    """True when ``path`` exists and ends with a PNG ``IEND`` chunk."""
    try:
        size = osp.getsize(path)
        if size < 20:
            return False
        with open(path, 'rb') as f:
            f.seek(-len(_PNG_END), os.SEEK_END)
            return f.read() == _PNG_END
    except OSError:
        return False


def is_up_to_date(dst: str, src: str) -> bool:
    """True when ``dst`` is a complete PNG not older than ``src``."""
    if not is_complete_png(dst):
        return False
    try:
        return osp.getmtime(dst) >= osp.getmtime(src)
    except OSError:
        return False


def write_png_atomic(arr: np.ndarray, dst: str) -> None:
    """Write ``arr`` (uint8, 2-D) to ``dst`` as a mode ``L`` PNG atomically."""
    folder, name = osp.split(osp.abspath(dst))
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8)).save(
                f, format='PNG')
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


# ----------------------------------------------------------------- one file
def convert_label_file(task: LabelTask,
                       reader: LabelReader,
                       lut: np.ndarray,
                       valid_ids: FrozenSet[int],
                       on_mismatch: str = 'resize',
                       overwrite: bool = False) -> FileResult:
    """Convert one label file; never raises for a bad file."""
    if not overwrite and is_up_to_date(task.dst, task.src):
        return FileResult(task.src, 'exists')
    if task.img is not None and not osp.isfile(task.img):
        return FileResult(task.src, 'failed',
                          f'label has no image: expected {task.img}')
    try:
        label = reader(task.src)
    except Exception as e:  # noqa: BLE001  (collected, run continues)
        return FileResult(task.src, 'failed', _describe(e, task.src))
    status, message = 'converted', ''
    if task.img is not None:
        try:
            img_hw = read_image_size(task.img)
        except Exception as e:  # noqa: BLE001
            return FileResult(
                task.src, 'failed',
                f'its image is unreadable: {_describe(e, task.img)}')
        if img_hw != label.shape[:2]:
            message = (f'label {label.shape[0]}x{label.shape[1]} vs image '
                       f'{img_hw[0]}x{img_hw[1]} ({task.img})')
            if on_mismatch == 'skip':
                return FileResult(task.src, 'skipped', message)
            label = resize_nearest(label, img_hw)
            status = 'resized'
    try:
        train_ids, ignored, unknown = map_ids(label, lut, valid_ids)
        write_png_atomic(train_ids, task.dst)
    except Exception as e:  # noqa: BLE001
        return FileResult(task.src, 'failed', _describe(e, task.src))
    return FileResult(task.src, status, message, ignored, unknown)


def _describe(err: Exception, path: str) -> str:
    """Return an error message that names ``path``."""
    msg = f'{type(err).__name__}: {err}'
    return msg if path in msg else f'{path}: {msg}'


# ----------------------------------------------------------------- run
def run_conversion(tasks: Sequence[LabelTask],
                   reader: LabelReader,
                   lut: np.ndarray,
                   valid_ids: Iterable[int],
                   name: str,
                   nproc: int = 1,
                   on_mismatch: str = 'resize',
                   overwrite: bool = False) -> ConvertSummary:
    """Convert ``tasks`` in parallel and log a summary.

    Args:
        tasks: label files to convert.
        reader: top-level (picklable) function returning the raw ID map.
        lut: source ID -> train ID lookup table (``class_maps.build_lut``).
        valid_ids: every legitimate source ID; others are reported unknown.
        name: dataset name used in log messages.
        nproc: worker processes (1 runs in this process).
        on_mismatch: ``'resize'`` or ``'skip'`` a label whose size differs
            from its image.
        overwrite: re-convert even when a complete output exists.
    """
    if on_mismatch not in MISMATCH_MODES:
        raise ValueError(f'on_mismatch={on_mismatch!r}; expected one of '
                         f'{MISMATCH_MODES}')
    func = partial(
        convert_label_file,
        reader=reader,
        lut=lut,
        valid_ids=frozenset(valid_ids),
        on_mismatch=on_mismatch,
        overwrite=overwrite)
    summary = ConvertSummary()
    if not tasks:
        print_log(f'{name}: no label files to convert', logger='current',
                  level=logging.WARNING)
        return summary
    if nproc > 1:
        results = track_parallel_progress(func, list(tasks), nproc)
    else:
        results = track_progress(func, list(tasks))
    for res in results:
        summary.add(res)
    log_summary(summary, name, on_mismatch)
    return summary


def log_summary(summary: ConvertSummary, name: str,
                on_mismatch: str) -> None:
    """Log totals, size mismatches, unknown IDs and failures."""
    log = partial(print_log, logger='current')
    log(f'{name}: {len(summary.converted)} converted, '
        f'{len(summary.existing)} already done, {len(summary.resized)} '
        f'resized, {len(summary.skipped)} skipped, {len(summary.failed)} '
        'failed')
    if summary.resized:
        log(f'{name}: {len(summary.resized)} label(s) differed in size from '
            'their image and were resized (nearest) to the image size:\n' +
            _listing(summary.resized), level=logging.WARNING)
    if summary.skipped:
        log(f'{name}: {len(summary.skipped)} label(s) differ in size from '
            'their image and were SKIPPED (--on-mismatch skip); their images '
            f'have no {OUT_SUFFIX}, so build the dataset with '
            'skip_missing_labels=True:\n' + _listing(summary.skipped),
            level=logging.WARNING)
    if summary.unknown_pixels:
        ids = ', '.join(f'{i}: {summary.unknown_pixels[i]} px in '
                        f'{summary.unknown_files[i]} file(s)'
                        for i in sorted(summary.unknown_pixels))
        log(f'{name}: label IDs outside the mapping were set to '
            f'{IGNORE_INDEX} (ignore): {{{ids}}}. Check that the labels are '
            f'the raw {name} labels.', level=logging.WARNING)
    if summary.failed:
        log(f'{name}: {len(summary.failed)} file(s) FAILED and were not '
            'converted:\n' + _listing(summary.failed), level=logging.ERROR)


def _listing(items: Sequence[Tuple[str, str]]) -> str:
    return '\n'.join(f'  {src}: {msg}' for src, msg in items)


def list_raw_labels(folder: str, pattern_suffix: str = '.png') -> List[str]:
    """Sorted raw label files in ``folder``: not hidden, not our outputs."""
    return sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if f.endswith(pattern_suffix) and not f.endswith(OUT_SUFFIX)
        and not f.startswith('.'))


def output_path(src: str, raw_suffix: str = '.png') -> str:
    """``<dir>/<stem><raw_suffix>`` -> ``<dir>/<stem>_labelTrainIds.png``."""
    assert src.endswith(raw_suffix), (src, raw_suffix)
    return src[:-len(raw_suffix)] + OUT_SUFFIX


def require_dir(path: str, what: str, fix: str = '') -> None:
    """Raise ``FileNotFoundError`` naming ``path`` when it is not a folder."""
    if not osp.isdir(path):
        raise FileNotFoundError(
            f'{what} not found: expected the folder {path}. {fix}'.strip())
