"""How good a round of pseudo labels is, measured against ground truth where some exists
(``tools/analysis/pseudo_label_quality.py``): per class, the share of its pixels that got
a label, the share that got the right one, and the precision of each label."""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.utils import track_iter_progress

from mmseg_sfda.utils.bad_input import BadInputError
from mmseg_sfda.utils.pseudo_label_io import LABELS, image_stem, read_label, round_file


def label_confusion(pairs: Sequence[Tuple[str, str]], num_classes: int,
                    ignore_index: int = 255, progress: bool = False) -> np.ndarray:
    """Confusion (num_classes, num_classes + 1) of ground truth (rows) against pseudo
    labels (columns, the last one = no label) over ``(pseudo label, ground truth)``
    file pairs; ground-truth ``ignore_index`` pixels are skipped."""
    conf = np.zeros((num_classes, num_classes + 1), np.int64)
    for label_file, gt_file in (track_iter_progress(list(pairs)) if progress else pairs):
        label, gt = read_label(label_file), read_label(gt_file)
        if label.shape != gt.shape:
            raise BadInputError(f'{label_file} is {label.shape[1]}x{label.shape[0]} but its '
                                f'ground truth {gt_file} is {gt.shape[1]}x{gt.shape[0]}: '
                                'give the ground truth of the images that were labelled')
        valid = gt != ignore_index
        bad = np.unique(gt[valid & (gt >= num_classes)])
        if bad.size:
            raise BadInputError(f'{gt_file} holds class ids {bad.tolist()} >= {num_classes}: '
                                'give train-id ground truth (*_labelTrainIds.png)')
        column = np.where(label == ignore_index, num_classes,
                          np.minimum(label, num_classes)).astype(np.int64)
        np.add.at(conf, (gt[valid].astype(np.int64), column[valid]), 1)
    return conf


def match_ground_truth(round_dir: str, gt_files: Sequence[str], img_suffix: str,
                       seg_suffix: str) -> List[Tuple[str, str]]:
    """Pair each ground-truth file with the round's pseudo label of the same image
    (``<name><seg_suffix>`` <-> ``<name><img_suffix>``); images without labels are
    skipped, none at all is an error."""
    pairs = []
    for gt_file in sorted(gt_files):
        name = osp.basename(gt_file)[:-len(seg_suffix)]
        label_file = round_file(round_dir, LABELS, image_stem(name + img_suffix))
        if osp.isfile(label_file):
            pairs.append((label_file, gt_file))
    if not pairs:
        raise BadInputError(
            f'no pseudo label in {osp.join(round_dir, LABELS)} matches the {len(gt_files)} '
            f'ground-truth files (*{seg_suffix}): give the round directory of a finished '
            'round (pseudo_labels/round_N) and the ground truth of the same images, or '
            'set --img-suffix / --seg-suffix')
    return pairs


def class_quality(conf: np.ndarray) -> Dict[str, np.ndarray]:
    """Per class, in %: ``labelled`` (its pixels given any label), ``correct`` (given its
    own label) and ``precision`` (pixels labelled with it that are it; nan if none)."""
    k = conf.shape[0]
    gt = conf.sum(1)
    given = conf[:, :k].sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return dict(pixels=gt,
                    labelled=100 * conf[:, :k].sum(1) / gt,
                    correct=100 * np.diag(conf[:, :k]) / gt,
                    precision=100 * np.diag(conf[:, :k]) / given)
