"""Load one round's pseudo labels (CBST Eq. 6 / 8) of a target image."""
import json
import os.path as osp
from typing import Optional, Tuple

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_sfda.utils.pseudo_label_io import (CONFIDENCE, LABELS, NEGATIVE, SPLIT_FILE,
                                              image_stem, read_confidence, read_label,
                                              read_negative, round_file)


@TRANSFORMS.register_module()
class LoadPseudoLabel(BaseTransform):
    """Load an image's pseudo label, optional confidence and negative mask.

    Reads, for ``stem`` = basename of ``results['img_path']`` without its
    extension, the files a ``PseudoLabelHook`` round writes, through
    ``mmseg_sfda.utils.pseudo_label_io`` (which defines their format)::

        {pseudo_label_dir}/labels/{stem}.png       uint8, 255 = ignore
        {pseudo_label_dir}/confidence/{stem}.png   uint16, p_max * 65535
        {pseudo_label_dir}/negative/{stem}.npz     packed (H, W, C) mask

    Every loaded map is added to ``results['seg_fields']``, so mmseg's
    ``Resize`` / ``RandomResize`` (under the ``mmseg`` default scope, as the
    runner sets it), ``RandomCrop`` (``cat_max_ratio`` looks at
    ``gt_seg_map`` only) and ``RandomFlip`` move them with the image
    (nearest-neighbour resizing). Put this transform right after
    ``LoadImageFromFile``: the maps must have the image's original size.

    ``pseudo_label_dir`` is a plain public attribute; ``PseudoLabelHook``
    points it at the current round's directory. ``None`` means no round has
    been labelled yet.

    Added Keys:

    - gt_seg_map (np.uint8, (H, W))
    - gt_confidence (np.float32, (H, W), in [0, 1]; with_confidence)
    - gt_negative_mask (np.uint8 0/1, (H, W, C); with_negative). C must be
      >= 2: OpenCV's resize drops a trailing axis of length 1.
    - seg_fields (the keys above are appended)
    - pseudo_label_dir, pseudo_label_path
    - seg_map_path (the pseudo label file: packed into the sample's metainfo, so
      errors about the label name it)

    Args:
        pseudo_label_dir (str, optional): A round directory. Default: None
            (set later by ``PseudoLabelHook``).
        with_confidence (bool): Also load ``confidence/{stem}.png``.
        with_negative (bool): Also load ``negative/{stem}.npz``.
        with_split (bool): Also set ``pseudo_label_easy`` from the round's
            ``split.json`` (DAS3 entropy ranking; pack it with
            ``PackSegInputsWithExtras``).
    """

    def __init__(self,
                 pseudo_label_dir: Optional[str] = None,
                 with_confidence: bool = False,
                 with_negative: bool = False,
                 with_split: bool = False) -> None:
        self.pseudo_label_dir = pseudo_label_dir
        self.with_confidence = with_confidence
        self.with_negative = with_negative
        self.with_split = with_split
        self._split_cache: Tuple[Optional[str], Optional[float], dict] = (None, None, {})

    def transform(self, results: dict) -> dict:
        """Load the maps of ``results['img_path']`` into ``results``."""
        root = self.pseudo_label_dir
        if root is None:
            raise RuntimeError(
                'LoadPseudoLabel: no pseudo labels yet: add PseudoLabelHook '
                'to custom_hooks (it generates a round of pseudo labels and '
                'sets pseudo_label_dir on this transform), or set '
                'pseudo_label_dir=ROUND_DIR in the pipeline to train on an '
                'existing round.')
        if 'img_path' not in results:
            raise KeyError('LoadPseudoLabel: results has no img_path; put '
                           'LoadImageFromFile before LoadPseudoLabel.')
        root = str(root)
        stem = image_stem(results['img_path'])
        img_hw = self._image_size(results)
        seg_fields = results.setdefault('seg_fields', [])

        label_path = round_file(root, LABELS, stem)
        label = read_label(label_path)
        _check_size(label.shape[:2], img_hw, label_path, results)
        results['gt_seg_map'] = label
        _add_field(seg_fields, 'gt_seg_map')

        if self.with_confidence:
            conf_path = round_file(root, CONFIDENCE, stem)
            confidence = read_confidence(conf_path)
            _check_size(confidence.shape[:2], img_hw, conf_path, results)
            results['gt_confidence'] = confidence
            _add_field(seg_fields, 'gt_confidence')

        if self.with_negative:
            neg_path = round_file(root, NEGATIVE, stem)
            negative = read_negative(neg_path)
            _check_size(negative.shape[:2], img_hw, neg_path, results)
            results['gt_negative_mask'] = negative
            _add_field(seg_fields, 'gt_negative_mask')

        if self.with_split:
            results['pseudo_label_easy'] = self._is_easy(root, stem)

        results['pseudo_label_dir'] = root
        results['pseudo_label_path'] = label_path
        results['seg_map_path'] = label_path  # the label map read: named in errors
        return results

    def _is_easy(self, root: str, stem: str) -> bool:
        """The image's side of the round's easy / hard split (``split.json``)."""
        path = osp.join(root, SPLIT_FILE)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'LoadPseudoLabel: {path} not found; with_split=True needs '
                'PseudoLabelHook(image_split=dict(easy_portion=...)).')
        mtime = osp.getmtime(path)
        if self._split_cache[:2] != (path, mtime):
            with open(path) as f:
                self._split_cache = (path, mtime, json.load(f))
        split = self._split_cache[2]
        if stem not in split:
            raise KeyError(f'LoadPseudoLabel: {stem} is not in {path}; the round was '
                           'labelled on another image set')
        return bool(split[stem])

    @staticmethod
    def _image_size(results: dict) -> Optional[Tuple[int, int]]:
        if results.get('img') is not None:
            return tuple(results['img'].shape[:2])
        if results.get('img_shape') is not None:
            return tuple(results['img_shape'][:2])
        return None

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'pseudo_label_dir={self.pseudo_label_dir!r}, '
                f'with_confidence={self.with_confidence}, '
                f'with_negative={self.with_negative}, '
                f'with_split={self.with_split})')


def _add_field(seg_fields: list, key: str) -> None:
    if key not in seg_fields:
        seg_fields.append(key)


def _check_size(hw: Tuple[int, ...], img_hw: Optional[Tuple[int, int]],
                path: str, results: dict) -> None:
    if img_hw is None or tuple(hw) == tuple(img_hw):
        return
    raise ValueError(
        f'LoadPseudoLabel: {path} is {hw[0]}x{hw[1]} (HxW) but its image '
        f'{results.get("img_path")} is {img_hw[0]}x{img_hw[1]}. Pseudo '
        'labels must have the original image size: put LoadPseudoLabel right '
        'after LoadImageFromFile (before any Resize), and regenerate the '
        'round if the images changed.')
