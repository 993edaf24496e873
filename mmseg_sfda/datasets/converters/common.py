"""Shared machinery of the label converters (GTA5, SYNTHIA, NTHU, Cityscapes).

Every converter turns raw label files into ``<stem>_labelTrainIds.png``
(mode ``L``, train IDs, 255 = ignore) written beside the raw label:

* one task per label file, run in parallel with a progress bar;
* each image is decoded in full (a truncated file is named, not trained on)
  and its size compared with the label's;
* writes are atomic (temp file in the same folder + ``os.replace``); stale
  temp files of ours left by a killed run are removed on start;
* every output folder has a manifest, ``converter_manifest.json``,
  written atomically, recording the converter version and the size and
  ``mtime_ns`` of each source label, image and output. A re-run keeps an
  output only when its record matches; outputs without a record (written by
  another tool or an older version) or whose source changed are re-converted
  and counted;
* IDs outside the mapping become 255 and are counted (one warning at the
  end);
* a file that cannot be read is named, collected and the run goes on.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import Pool
from typing import (Callable, Dict, FrozenSet, Iterable, List, Optional,
                    Sequence, Tuple)

import numpy as np
from mmengine.logging import print_log
from PIL import Image

from ...utils.progress import Progress
from ...utils.class_maps import IGNORE_INDEX

OUT_SUFFIX = '_labelTrainIds.png'
MISMATCH_MODES = ('resize', 'skip')
_PNG_END = b'IEND\xaeB`\x82'
# Bump when the output of any converter changes for the same input.
CONVERTER_VERSION = 2
MANIFEST_NAME = 'converter_manifest.json'
# Our temp files: ``.<output or manifest name>.<8 chars of mkstemp>.tmp``.
_TEMP_RE = re.compile(r'^\.(.+' + re.escape(OUT_SUFFIX) + '|' +
                      re.escape(MANIFEST_NAME) + r')\.[a-z0-9_]{8}\.tmp$')
_SAVE_EVERY_S = 10.0

LabelReader = Callable[[str], np.ndarray]


class LabelFormatError(ValueError):
    """A label file exists and decodes, but is not in the expected format."""


@dataclass
class LabelTask:
    """One label file to convert."""
    src: str
    dst: str
    img: Optional[str] = None  # image whose size the label must match
    error: str = ''  # known before reading (e.g. ambiguous image): fails


@dataclass
class FileResult:
    """Outcome of one :class:`LabelTask`.

    ``status`` is one of ``converted``, ``resized``, ``exists`` (recorded
    output kept), ``skipped`` (size mismatch with ``on_mismatch='skip'``) or
    ``failed``. ``record`` is the manifest entry of a written output.
    """
    src: str
    status: str
    message: str = ''
    ignored: Dict[int, int] = field(default_factory=dict)  # id -> pixels
    unknown: Dict[int, int] = field(default_factory=dict)  # id -> pixels
    dst: str = ''
    record: Optional[dict] = None


@dataclass
class ConvertSummary:
    """Totals of one converter run."""
    converted: List[str] = field(default_factory=list)
    existing: List[str] = field(default_factory=list)
    resized: List[Tuple[str, str]] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    # existing outputs without a matching record, re-converted
    replaced: List[str] = field(default_factory=list)
    removed_temp: List[str] = field(default_factory=list)
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


def verify_image(path: str) -> Tuple[int, int]:
    """Decode ``path`` in full and return its ``(height, width)``.

    A truncated or corrupt file raises ``OSError`` (Pillow refuses truncated
    data; OpenCV, used by the training loaders, would decode a truncated
    JPEG into grey pixels without an error).
    """
    with Image.open(path) as im:
        im.load()
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


def _atomic_write(folder: str, name: str, write: Callable) -> None:
    """Write ``folder/name`` through a temp file of ours + ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, osp.join(folder, name))
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_png_atomic(arr: np.ndarray, dst: str) -> None:
    """Write ``arr`` (uint8, 2-D) to ``dst`` as a mode ``L`` PNG atomically."""
    folder, name = osp.split(osp.abspath(dst))
    image = Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8))
    _atomic_write(folder, name, lambda f: image.save(f, format='PNG'))


def remove_stale_temp_files(folder: str) -> List[str]:
    """Remove temp files of ours (see ``_TEMP_RE``) left in ``folder`` by a
    killed run; other files are never touched. Returns the removed paths."""
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if _TEMP_RE.match(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


def _verify_one(path: str) -> Tuple[str, str]:
    try:
        verify_image(path)
    except Exception as e:  # noqa: BLE001  (collected, run continues)
        return path, _describe(e, path)
    return path, ''


def verify_images(paths: Sequence[str], name: str,
                  nproc: int = 1) -> List[Tuple[str, str]]:
    """Decode every image of ``paths`` in full (images without a label, e.g.
    unlabelled target images); log and return ``(path, error)`` of the bad
    ones."""
    progress = Progress(len(paths), f'{name} images')
    bad = []
    pool = Pool(nproc) if nproc > 1 and len(paths) > 1 else None
    try:
        results = (pool.imap_unordered(_verify_one, paths, chunksize=8)
                   if pool is not None else map(_verify_one, paths))
        for path, error in results:
            if error:
                bad.append((path, error))
            progress.update()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    bad.sort()
    print_log(f'{name}: {len(paths)} image(s) decoded, {len(bad)} bad',
              logger='current')
    if bad:
        print_log(f'{name}: {len(bad)} image(s) cannot be decoded (truncated '
                  'or corrupt); re-download them or remove them:\n' +
                  _listing(bad), logger='current', level=logging.ERROR)
    return bad


# ----------------------------------------------------------------- manifest
def _stat(path: Optional[str]) -> Optional[List[int]]:
    """``[size, mtime_ns]`` of ``path`` (None when absent or no path)."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def converter_id(name: str, reader: Callable, lut: np.ndarray) -> str:
    """What wrote an output: converter, version, reader and mapping table."""
    table = hashlib.sha1(np.asarray(lut, np.uint8).tobytes()).hexdigest()
    return (f'{name} v{CONVERTER_VERSION} '
            f'{reader.__module__}.{reader.__qualname__} lut:{table[:12]}')


class Manifest:
    """Record of the outputs of one folder (``converter_manifest.json``).

    Each output name maps to the ``[size, mtime_ns]`` of its source label,
    image and of the output itself, its shape and status. A manifest of a
    different ``converter`` (another version or table) counts as empty.
    """

    def __init__(self, folder: str, converter: str) -> None:
        self.folder = folder
        self.path = osp.join(folder, MANIFEST_NAME)
        self.converter = converter
        self.files: Dict[str, dict] = {}
        self.dirty = False
        try:
            with open(self.path, encoding='utf-8') as f:
                data = json.load(f)
            if data.get('converter') == converter:
                self.files = dict(data['files'])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # absent or unreadable: every output is re-converted

    def is_current(self, task: LabelTask, on_mismatch: str) -> bool:
        """True when ``task.dst`` is recorded and nothing changed since."""
        rec = self.files.get(osp.basename(task.dst))
        if task.error or not rec or rec.get('src') != osp.basename(task.src):
            return False
        if rec.get('status') == 'resized' and on_mismatch != 'resize':
            return False
        return (rec.get('src_stat') == _stat(task.src)
                and rec.get('img_stat') == _stat(task.img)
                and rec.get('out_stat') == _stat(task.dst)
                and is_complete_png(task.dst))

    def update(self, dst: str, record: Optional[dict]) -> None:
        """Set (or, with None, drop) the record of ``dst``."""
        key = osp.basename(dst)
        if record is None:
            self.dirty |= self.files.pop(key, None) is not None
        else:
            self.files[key] = record
            self.dirty = True

    def save(self) -> None:
        """Write the manifest atomically (when something changed)."""
        if not self.dirty:
            return
        text = json.dumps(
            dict(converter=self.converter, files=self.files),
            indent=0, sort_keys=True).encode('utf-8')
        _atomic_write(self.folder, MANIFEST_NAME, lambda f: f.write(text))
        self.dirty = False


# ----------------------------------------------------------------- one file
def convert_label_file(task: LabelTask,
                       reader: LabelReader,
                       lut: np.ndarray,
                       valid_ids: FrozenSet[int],
                       on_mismatch: str = 'resize') -> FileResult:
    """Convert one label file; never raises for a bad file.

    The image is decoded in full. A written output comes back with its
    manifest ``record``.
    """
    def failed(message: str) -> FileResult:
        return FileResult(task.src, 'failed', message, dst=task.dst)

    if task.error:
        return failed(task.error)
    if task.img is not None and not osp.isfile(task.img):
        return failed(f'label has no image: expected {task.img}')
    src_stat, img_stat = _stat(task.src), _stat(task.img)
    try:
        label = reader(task.src)
    except Exception as e:  # noqa: BLE001  (collected, run continues)
        return failed(_describe(e, task.src))
    status, message = 'converted', ''
    if task.img is not None:
        try:
            img_hw = verify_image(task.img)
        except Exception as e:  # noqa: BLE001
            return failed(f'its image is unreadable: {_describe(e, task.img)}')
        if img_hw != label.shape[:2]:
            message = (f'label {label.shape[0]}x{label.shape[1]} vs image '
                       f'{img_hw[0]}x{img_hw[1]} ({task.img})')
            if on_mismatch == 'skip':
                if osp.lexists(task.dst):  # a stale output must not be used
                    os.remove(task.dst)
                return FileResult(task.src, 'skipped', message, dst=task.dst)
            label = resize_nearest(label, img_hw)
            status = 'resized'
    try:
        train_ids, ignored, unknown = map_ids(label, lut, valid_ids)
        write_png_atomic(train_ids, task.dst)
    except Exception as e:  # noqa: BLE001
        return failed(_describe(e, task.src))
    record = dict(
        src=osp.basename(task.src),
        src_stat=src_stat,
        img=None if task.img is None else osp.basename(task.img),
        img_stat=img_stat,
        out_stat=_stat(task.dst),
        shape=list(train_ids.shape),
        status=status)
    return FileResult(task.src, status, message, ignored, unknown, task.dst,
                      record)


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
    """Convert ``tasks`` in parallel, keep the manifests, log a summary.

    Args:
        tasks: label files to convert (empty: ``FileNotFoundError``).
        reader: top-level (picklable) function returning the raw ID map.
        lut: source ID -> train ID lookup table (``class_maps.build_lut``).
        valid_ids: every legitimate source ID; others are reported unknown.
        name: dataset name used in log messages.
        nproc: worker processes (1 runs in this process).
        on_mismatch: ``'resize'`` or ``'skip'`` a label whose size differs
            from its image.
        overwrite: re-convert even outputs recorded as current.
    """
    if on_mismatch not in MISMATCH_MODES:
        raise ValueError(f'on_mismatch={on_mismatch!r}; expected one of '
                         f'{MISMATCH_MODES}')
    if not tasks:
        raise FileNotFoundError(f'{name}: no label files to convert')
    summary = ConvertSummary()
    cid = converter_id(name, reader, lut)
    manifests: Dict[str, Manifest] = {}
    for task in tasks:
        folder = osp.dirname(osp.abspath(task.dst))
        if folder not in manifests:
            summary.removed_temp += remove_stale_temp_files(folder)
            manifests[folder] = Manifest(folder, cid)
    todo = []
    for task in tasks:
        manifest = manifests[osp.dirname(osp.abspath(task.dst))]
        if not overwrite and manifest.is_current(task, on_mismatch):
            summary.add(FileResult(task.src, 'exists', dst=task.dst))
            continue
        if osp.lexists(task.dst) and not overwrite:
            summary.replaced.append(task.src)
        todo.append(task)
    func = partial(
        convert_label_file,
        reader=reader,
        lut=lut,
        valid_ids=frozenset(valid_ids),
        on_mismatch=on_mismatch)
    progress = Progress(len(todo), f'{name} labels')
    last_save = time.monotonic()
    pool = Pool(nproc) if nproc > 1 and len(todo) > 1 else None
    try:
        results = (pool.imap_unordered(func, todo) if pool is not None else
                   map(func, todo))
        for res in results:
            summary.add(res)
            manifests[osp.dirname(osp.abspath(res.dst))].update(
                res.dst, res.record)
            progress.update()
            if time.monotonic() - last_save > _SAVE_EVERY_S:
                for manifest in manifests.values():
                    manifest.save()
                last_save = time.monotonic()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        for manifest in manifests.values():
            manifest.save()
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
    if summary.removed_temp:
        log(f'{name}: removed {len(summary.removed_temp)} temp file(s) left '
            'by an interrupted run:\n' +
            '\n'.join(f'  {p}' for p in summary.removed_temp),
            level=logging.WARNING)
    if summary.replaced:
        log(f'{name}: {len(summary.replaced)} existing output(s) had no '
            f'matching record in {MANIFEST_NAME} (written by another tool or '
            'an older converter, left by an interrupted run, or their source '
            'or image changed since) and were converted again, e.g. '
            f'{summary.replaced[0]}', level=logging.WARNING)
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


def list_raw_labels(folder: str,
                    pattern_suffix: str = '.png',
                    what: str = 'label folder') -> List[str]:
    """Sorted raw label files in ``folder``: not hidden, not our outputs.

    Raises ``FileNotFoundError`` naming ``folder`` when there is none.
    """
    found = sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if f.endswith(pattern_suffix) and not f.endswith(OUT_SUFFIX)
        and not f.startswith('.'))
    if not found:
        raise FileNotFoundError(
            f'{what} {folder} holds no raw label file (*{pattern_suffix}; '
            f'converted *{OUT_SUFFIX} files do not count): extract or copy '
            'the labels there, or point the converter at the right folder.')
    return found


def output_path(src: str, raw_suffix: str = '.png') -> str:
    """``<dir>/<stem><raw_suffix>`` -> ``<dir>/<stem>_labelTrainIds.png``."""
    assert src.endswith(raw_suffix), (src, raw_suffix)
    return src[:-len(raw_suffix)] + OUT_SUFFIX


def require_dir(path: str, what: str, fix: str = '') -> None:
    """Raise ``FileNotFoundError`` naming ``path`` when it is not a folder."""
    if not osp.isdir(path):
        raise FileNotFoundError(
            f'{what} not found: expected the folder {path}. {fix}'.strip())
