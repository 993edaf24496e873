"""Pictures of packed dataset samples (image | label overlay)."""
from typing import Iterator, Optional, Tuple

import numpy as np
import torch
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

_VIS_NAME = 'mmseg_sfda_sample_picture'


def inputs_to_rgb(inputs: torch.Tensor, bgr: bool = True) -> np.ndarray:
    """Return a contiguous HxWx3 uint8 RGB array from packed ``inputs``.

    ``PackSegInputs`` gives a CxHxW tensor in the loader's channel order
    (BGR for mmseg's ``LoadImageFromFile``). A permuted / channel-flipped
    view is not contiguous, which OpenCV >= 4.8 rejects when mmseg draws
    on it (mmsegmentation#3405), hence the copy.
    """
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    img = np.asarray(inputs)
    if img.ndim != 3:
        raise ValueError(f'inputs must be CxHxW, got shape {img.shape}')
    img = img.transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif bgr:
        img = img[..., ::-1]
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def iter_packed(item: dict) -> Iterator[Tuple[str, dict]]:
    """Yield ``(domain, packed sample)`` pairs of a dataset item.

    A plain item (``inputs`` + ``data_samples``) yields ``('', item)``; a
    paired item such as ``DomainPairDataset``'s ``dict(source=..,
    target=..)`` yields each packed member under its key.
    """
    if 'inputs' in item:
        yield '', item
        return
    found = False
    for key, value in item.items():
        if isinstance(value, dict) and 'inputs' in value:
            found = True
            yield key, value
    if not found:
        raise KeyError('dataset item has no packed sample (`inputs` and '
                       f'`data_samples`); its keys are {list(item)}. End the '
                       'pipeline with PackSegInputs.')


def make_sample_picture(sample: dict,
                        dataset_meta: dict,
                        visualizer: Optional[SegLocalVisualizer] = None,
                        bgr: bool = True,
                        with_labels: bool = True) -> np.ndarray:
    """Draw one packed sample as ``image | label overlay`` (RGB uint8).

    Args:
        sample (dict): the output of a pipeline ending in ``PackSegInputs``
            (``inputs`` tensor and ``data_samples``).
        dataset_meta (dict): ``classes`` and ``palette`` (a dataset's
            ``metainfo``).
        visualizer (SegLocalVisualizer, optional): drawing helper; a shared
            instance without storage backends by default.
        bgr (bool): whether ``inputs`` is BGR. Defaults to True.
        with_labels (bool): write class names on the overlay.

    Returns:
        np.ndarray: HxWx3 image alone when the sample has no ``gt_sem_seg``
        (unlabelled data), else Hx2Wx3 image | overlay.
    """
    img = inputs_to_rgb(sample['inputs'], bgr=bgr)
    data_sample: SegDataSample = sample['data_samples']
    if 'gt_sem_seg' not in data_sample:
        return img
    if visualizer is None:
        visualizer = SegLocalVisualizer.get_instance(_VIS_NAME)
    visualizer.dataset_meta = dict(
        classes=dataset_meta['classes'], palette=dataset_meta['palette'])
    gt_only = SegDataSample()
    gt_only.gt_sem_seg = data_sample.gt_sem_seg.cpu()
    visualizer.add_datasample(
        'sample',
        img,
        gt_only,
        draw_gt=True,
        draw_pred=False,
        show=False,
        with_labels=with_labels)
    overlay = visualizer.get_image()
    if overlay.shape != img.shape:
        raise RuntimeError(f'overlay shape {overlay.shape} != image shape '
                           f'{img.shape}')
    return np.ascontiguousarray(np.concatenate([img, overlay], axis=1))
