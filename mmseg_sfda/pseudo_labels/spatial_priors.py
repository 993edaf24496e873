"""CBST spatial priors ``q_n(c)`` from source labels (Sec. 4.4, Eq. 9).

CBST-SP multiplies the softmax output by a per-pixel class prior before
pseudo-label selection (Eq. 9: the potential ``q_n(c) p_n(c | w, I_t)``
replaces ``p_n(c | w, I_t)``). The paper builds ``q`` "by counting the class
frequencies in the source domain, followed by smoothing with a 70x70
Gaussian kernel" and normalises "by requiring sum_n q_n(c) = 1", i.e. each
class map sums to one over the pixels (``normalize='class'``, the default).
The per-pixel reading (``sum_c q_n(c) = 1``, a class distribution at every
pixel) is ``normalize='pixel'``; ``'none'`` keeps the smoothed counts.

Neither the paper nor the released code (which loads a precomputed
``prior_array.mat``) gives the Gaussian's sigma or border handling; ours are
OpenCV's default sigma for the kernel size, ``0.3 * ((k - 1) / 2 - 1) + 0.8``
(10.85 for k = 70), and symmetric reflection at the borders. ``kernel_size``
is in pixels of ``size``: the paper's 70 is at full resolution (GTA5
1052x1914, Cityscapes 1024x2048).

The released CBST code multiplies ``prior_array`` (C, H, W) element-wise
with the softmax map at the target image's resolution, so a consumer resizes
the priors to its prediction size first.

Counting streams over the label files with a fixed ``(C, h, w)`` int64
count table, so memory does not grow with the number of files (peak: the
table plus one float32 copy; ~0.5 GB for 19 classes at 1052x1914).
"""
import json
import os
import os.path as osp
import tempfile
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.utils import ProgressBar
from PIL import Image
from scipy import ndimage

NORMALIZE_MODES = ('class', 'pixel', 'none')
PRIORS_KEY = 'priors'
META_KEY = 'meta'
TOOL = 'tools/compute_spatial_priors.py'


def default_sigma(kernel_size: int) -> float:
    """OpenCV's Gaussian sigma for ``kernel_size`` (``getGaussianKernel``)."""
    return 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8


def gaussian_kernel_1d(kernel_size: int,
                       sigma: Optional[float] = None) -> np.ndarray:
    """Normalised 1-D Gaussian of ``kernel_size`` taps, centre ``(k-1)/2``."""
    if kernel_size < 1:
        raise ValueError(f'kernel_size must be >= 1, got {kernel_size}')
    if kernel_size == 1:
        return np.ones(1)
    sigma = default_sigma(kernel_size) if sigma is None else float(sigma)
    if sigma <= 0:
        raise ValueError(f'sigma must be > 0, got {sigma}')
    x = np.arange(kernel_size) - (kernel_size - 1) / 2.0
    kernel = np.exp(-x**2 / (2.0 * sigma**2))
    return kernel / kernel.sum()


def read_label(path: str) -> np.ndarray:
    """Read a single-channel label PNG as its raw index values."""
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode not in ('L', 'P', 'I;16', 'I'):
                raise ValueError(
                    f'{path}: label has image mode {mode!r}; expected a '
                    'single-channel train-ID PNG (mode L) as written by '
                    'tools/dataset_converters/*.py')
            arr = np.array(im)
    except FileNotFoundError:
        raise FileNotFoundError(f'label file not found: {path}') from None
    return arr


def resize_nearest(label: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label map to ``(height, width)``."""
    if label.shape[:2] == tuple(hw):
        return label
    if label.dtype not in (np.uint8, np.uint16, np.int32):
        label = label.astype(np.int32)
    im = Image.fromarray(label)
    return np.array(im.resize((hw[1], hw[0]), Image.NEAREST))


def count_class_pixels(label_files: Sequence[str],
                       num_classes: int,
                       size: Optional[Tuple[int, int]] = None,
                       ignore_index: int = 255,
                       lut: Optional[np.ndarray] = None,
                       show_progress: bool = True) -> np.ndarray:
    """Per-pixel class counts ``(C, h, w)`` int64 over ``label_files``.

    Each label is mapped by ``lut`` (raw value -> train ID; values past its
    end become ``ignore_index``), resized (nearest) to ``size`` (default:
    the first file's size) and added one-hot; ``ignore_index`` is skipped.

    Raises:
        ValueError: a label holds a value that is neither a class
            (``0 .. C-1``) nor ``ignore_index``; the message names the file.
    """
    label_files = list(label_files)
    if not label_files:
        raise ValueError('count_class_pixels: no label files given')
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    full_lut = None
    if lut is not None:
        lut = np.asarray(lut)
        full_lut = np.full(max(len(lut), 65536), ignore_index, dtype=np.int64)
        full_lut[:len(lut)] = lut
    counts = None
    bar = ProgressBar(len(label_files)) if show_progress else None
    try:
        for path in label_files:
            label = read_label(path)
            if full_lut is not None:
                label = full_lut[label.astype(np.int64)]
            if size is None:
                size = tuple(label.shape[:2])
            if counts is None:
                counts = np.zeros((num_classes, size[0], size[1]), np.int64)
            _add_one_hot(counts, resize_nearest(label, size), ignore_index,
                         path)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.file.write('\n')
    return counts


def _add_one_hot(counts: np.ndarray, label: np.ndarray, ignore_index: int,
                 path: str) -> None:
    """``counts[c][label == c] += 1`` for every class ``c`` in ``label``."""
    num_classes = counts.shape[0]
    flat = label.ravel()
    if flat.size and int(flat.min()) < 0:
        bad = sorted(int(v) for v in np.unique(flat[flat < 0]))
    else:
        hist = np.bincount(flat, minlength=num_classes)
        bad = [int(v) for v in np.flatnonzero(hist)
               if v >= num_classes and v != ignore_index]
    if bad:
        raise ValueError(
            f'{path}: label values {bad} are neither classes 0..'
            f'{num_classes - 1} nor ignore ({ignore_index}). Use train-ID '
            'labels (*_labelTrainIds.png from tools/dataset_converters), '
            'the right num_classes, or a lut mapping raw IDs.')
    flat_counts = counts.reshape(num_classes, -1)
    for c in np.flatnonzero(hist[:num_classes]).tolist():
        if c == ignore_index:
            continue
        # python int c keeps the comparison in the label's dtype; each pixel
        # appears once, so the fancy-index increment is exact
        flat_counts[c, np.flatnonzero(flat == c)] += 1


def smooth_counts(counts: np.ndarray,
                  kernel_size: int = 70,
                  sigma: Optional[float] = None,
                  dtype: type = np.float64) -> np.ndarray:
    """Separable Gaussian smoothing of each class map, ``(C, h, w)``.

    Each plane is filtered in float64 and stored as ``dtype``. Borders
    reflect symmetrically (``scipy.ndimage`` ``mode='reflect'``, OpenCV
    ``BORDER_REFLECT``). An even ``kernel_size`` is centred half a pixel
    off, as any even kernel is.
    """
    kernel = gaussian_kernel_1d(kernel_size, sigma)
    out = np.empty(counts.shape, dtype)
    for c in range(counts.shape[0]):
        plane = counts[c].astype(np.float64)
        if kernel_size > 1:
            plane = ndimage.correlate1d(plane, kernel, axis=0, mode='reflect')
            plane = ndimage.correlate1d(plane, kernel, axis=1, mode='reflect')
        out[c] = plane
    return out


def normalize_priors(smoothed: np.ndarray,
                     normalize: str = 'class') -> np.ndarray:
    """Normalise smoothed counts into priors, float32 ``(C, h, w)``.

    ``'class'`` (paper): each class map sums to 1 over the pixels; a class
    never seen gets the uniform map ``1 / (h * w)`` (with a warning), so it
    is not ruled out everywhere. ``'pixel'``: the classes sum to 1 at each
    pixel; a pixel with no labelled class gets ``1 / C``. ``'none'``: as is.
    """
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f'normalize={normalize!r}; expected one of '
                         f'{NORMALIZE_MODES}')
    num_classes, h, w = smoothed.shape
    out = smoothed.astype(np.float32)  # a copy; sums below are float64
    if normalize == 'none':
        return out
    if normalize == 'class':
        totals = smoothed.reshape(num_classes, -1).sum(1, dtype=np.float64)
        unseen = np.flatnonzero(totals <= 0)
        if unseen.size:
            warnings.warn(f'spatial priors: classes {unseen.tolist()} never '
                          'occur in the source labels; they get a uniform '
                          'prior')
        for c in range(num_classes):
            if totals[c] > 0:
                out[c] /= np.float32(totals[c])
            else:
                out[c] = 1.0 / (h * w)
        return out
    totals = smoothed.sum(0, dtype=np.float64)
    out /= np.where(totals > 0, totals, 1.0).astype(np.float32)[None]
    out[:, totals <= 0] = 1.0 / num_classes
    return out


def compute_spatial_priors(label_files: Sequence[str],
                           num_classes: int,
                           size: Optional[Tuple[int, int]] = None,
                           kernel_size: int = 70,
                           ignore_index: int = 255,
                           lut: Optional[np.ndarray] = None,
                           sigma: Optional[float] = None,
                           normalize: str = 'class',
                           show_progress: bool = True) -> np.ndarray:
    """CBST spatial priors ``q_n(c)`` (Sec. 4.4, Eq. 9), float32 ``(C, h, w)``.

    Counts classes per pixel over ``label_files`` (train-ID PNGs, resized
    nearest to ``size`` = (h, w), default the first file's size), smooths
    each class map with a ``kernel_size`` x ``kernel_size`` Gaussian
    (``kernel_size=1``: no smoothing) and normalises (``'class'``:
    ``sum_n q_n(c) = 1`` as in the paper; see :func:`normalize_priors`).

    Args:
        label_files: Source label files (uint8, ``ignore_index`` = ignore).
        num_classes: Number of classes C.
        size: (h, w) of the priors. Default: the first label's size.
        kernel_size: Gaussian kernel side in pixels of ``size``. Default: 70.
        ignore_index: Label value that is not counted. Default: 255.
        lut: Optional raw value -> train ID table applied before counting.
        sigma: Gaussian sigma. Default: OpenCV's for ``kernel_size``.
        normalize: ``'class'`` (default), ``'pixel'`` or ``'none'``.
        show_progress: Show an mmengine progress bar.
    """
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f'normalize={normalize!r}; expected one of '
                         f'{NORMALIZE_MODES}')
    gaussian_kernel_1d(kernel_size, sigma)  # validate before the long part
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if size[0] < 1 or size[1] < 1:
            raise ValueError(f'size must be positive (h, w), got {size}')
    counts = count_class_pixels(label_files, num_classes, size, ignore_index,
                                lut, show_progress)
    smoothed = smooth_counts(counts, kernel_size, sigma, np.float32)
    del counts  # peak memory: counts + one float32 copy at a time
    return normalize_priors(smoothed, normalize)


# ----------------------------------------------------------------- files
def save_spatial_priors(path: str,
                        priors: np.ndarray,
                        meta: Optional[Dict[str, Any]] = None) -> str:
    """Write ``priors`` (C, h, w) atomically to ``path`` and return it.

    ``.npz``: arrays ``priors`` and ``meta`` (a JSON string holding
    ``num_classes``, ``size``, ``kernel_size``, ``source``... plus ``meta``).
    ``.npy``: the bare array (``meta`` is not stored).
    """
    priors = np.asarray(priors, dtype=np.float32)
    if priors.ndim != 3:
        raise ValueError('save_spatial_priors: priors must be (C, h, w), got '
                         f'shape {priors.shape}')
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.npz', '.npy'):
        raise ValueError(f'save_spatial_priors: {path}: use a .npz (priors '
                         'and metadata) or .npy (priors only) file name')
    full_meta = dict(meta or {})
    full_meta.setdefault('num_classes', int(priors.shape[0]))
    full_meta.setdefault('size', [int(priors.shape[1]), int(priors.shape[2])])
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            if ext == '.npz':
                np.savez_compressed(
                    f, **{PRIORS_KEY: priors,
                          META_KEY: np.array(json.dumps(full_meta))})
            else:
                np.save(f, priors)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_spatial_priors(
    path: str,
    num_classes: Optional[int] = None,
    with_meta: bool = False
) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, Any]]]:
    """Read priors written by :func:`save_spatial_priors`.

    Args:
        path: ``.npz`` or ``.npy`` file.
        num_classes: When given, the priors must have this many classes.
        with_meta: Also return the metadata dict (empty for ``.npy``).

    Raises:
        FileNotFoundError: ``path`` does not exist (names the tool to run).
        ValueError: wrong layout, or a class count other than
            ``num_classes``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'spatial priors not found: {path}. Compute them from the source '
            f'labels with: python {TOOL} SOURCE_CONFIG --out {path}')
    meta: Dict[str, Any] = {}
    if path.lower().endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            if PRIORS_KEY not in npz.files:
                raise ValueError(f'{path}: no {PRIORS_KEY!r} array (keys: '
                                 f'{npz.files}); write it with '
                                 'save_spatial_priors or ' + TOOL)
            priors = npz[PRIORS_KEY]
            if META_KEY in npz.files:
                meta = json.loads(str(npz[META_KEY]))
    else:
        priors = np.load(path, allow_pickle=False)
    if priors.ndim != 3:
        raise ValueError(f'{path}: spatial priors must be (C, h, w), got '
                         f'shape {priors.shape}')
    if num_classes is not None and priors.shape[0] != num_classes:
        raise ValueError(
            f'{path} holds spatial priors for {priors.shape[0]} classes but '
            f'{num_classes} are expected; recompute them for this label '
            f'space: python {TOOL} SOURCE_CONFIG --out {path}')
    priors = priors.astype(np.float32, copy=False)
    return (priors, meta) if with_meta else priors


def apply_spatial_prior(prob: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """CBST-SP potential ``q_n(c) * p_n(c)`` (Eq. 9).

    Args:
        prob (Tensor): probabilities (B, C, H, W).
        prior (Tensor): spatial prior (C, h, w), bilinearly resized to (H, W) when the
            sizes differ. Scale it to [0, 1] (e.g. divide by its global maximum, which
            changes neither arg-max nor within-class ranks) before feeding potentials to
            a ``ClassConfidenceHistogram``.

    Returns:
        Tensor: (B, C, H, W) potential.
    """
    if prob.dim() != 4 or not prob.is_floating_point():
        raise ValueError('apply_spatial_prior: prob must be a floating tensor of shape '
                         f'(B, C, H, W), got {prob.dtype} {tuple(prob.shape)}')
    if prior.dim() != 3 or prior.shape[0] != prob.shape[1]:
        raise ValueError('apply_spatial_prior: prior must have shape '
                         f'({prob.shape[1]}, h, w), got {tuple(prior.shape)}')
    prior = prior.to(device=prob.device, dtype=prob.dtype)
    if tuple(prior.shape[1:]) != tuple(prob.shape[2:]):
        prior = F.interpolate(prior[None], size=prob.shape[2:], mode='bilinear',
                              align_corners=False)[0]
    return prob * prior[None]
