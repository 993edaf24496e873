"""Turning a round's scores into pseudo labels and the round's class statistics."""
import os.path as osp
import shutil
from typing import Callable, Dict, Iterable, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce, barrier, is_main_process
from torch import Tensor, nn

from mmseg_sfda.utils.background_writer import BackgroundWriter
from mmseg_sfda.utils.pseudo_label_io import (CLASS_STATS_FILE, CONFIDENCE, DONE_FILE,
                                              LABELS, PREDICTIONS, read_confidence,
                                              read_label, round_file, write_json_atomic,
                                              write_label)
from .class_confidence_histogram import ClassConfidenceHistogram
from .dataset_scorer import DatasetScorer
from .policies import BasePseudoLabelPolicy


def _count(kept: Tensor, pseudo: np.ndarray) -> None:
    """Add the labelled pixels of ``pseudo`` per class to ``kept``."""
    labelled = pseudo[pseudo != 255]
    kept += torch.bincount(torch.from_numpy(labelled.astype(np.int64)),
                           minlength=len(kept))[:len(kept)].double()


def write_labels(round_dir: str, stems: Sequence[str], thresholds: Tensor,
                 policy: BasePseudoLabelPolicy) -> Tensor:
    """Second pass, no inference: the policy's arg-max rule on the stored arg-max and
    score of every image; returns the labelled pixels per class (all ranks)."""
    thr = thresholds.numpy().astype(np.float32)
    kept = torch.zeros(len(thr), dtype=torch.float64)
    with BackgroundWriter() as writer:
        for stem in stems:
            label = read_label(round_file(round_dir, PREDICTIONS, stem))
            score = read_confidence(round_file(round_dir, CONFIDENCE, stem))
            pseudo = policy.select(label, score, thr)
            writer.submit(write_label, round_file(round_dir, LABELS, stem), pseudo)
            _count(kept, pseudo)
    all_reduce(kept)
    return kept


def write_labels_from_scores(round_dir: str, thresholds: Tensor,
                             policy: BasePseudoLabelPolicy, scorer: DatasetScorer,
                             model: nn.Module, loader: Iterable) -> Tensor:
    """Second pass for a policy that selects on every class's score (CBST Eq. 8,
    PixIntraDA Eq. 2-3): score the set again and apply the policy per image."""
    kept = torch.zeros(len(thresholds), dtype=torch.float64)
    with BackgroundWriter() as writer:
        for batch in scorer.iterate(model, loader, 'pseudo labels (2nd pass)'):
            for stem, _, score_map in scorer.score_maps(model, batch):
                pseudo = policy.select_probabilities(score_map[0], thresholds)
                writer.submit(write_label, round_file(round_dir, LABELS, stem), pseudo)
                _count(kept, pseudo)
    all_reduce(kept)
    return kept


def finish_round(round_dir: str, r: int, policy_cfg: dict,
                 hist: ClassConfidenceHistogram, thresholds: Tensor, kept: Tensor,
                 keep_scores: bool, draw: Callable[[str], None]) -> Dict:
    """Write ``class_stats.json`` (thresholds, predicted and kept pixel fractions per
    class), draw, mark the round ``DONE`` and drop the score files unless
    ``keep_scores``; returns the statistics."""
    barrier()
    counts = torch.tensor([hist.count(c) for c in range(hist.num_classes)],
                          dtype=torch.float64)
    total = float(counts.sum()) or 1.0
    stats = dict(round=r, num_classes=hist.num_classes, policy=policy_cfg,
                 thresholds=[float(t) for t in thresholds],
                 pixel_fraction=(counts / total).tolist(),
                 kept_fraction=(kept / total).tolist(),
                 kept_total=float(kept.sum()) / total)
    if is_main_process():
        write_json_atomic(osp.join(round_dir, CLASS_STATS_FILE), stats)
        draw(round_dir)
        write_json_atomic(osp.join(round_dir, DONE_FILE), dict(round=r))
        if not keep_scores:
            for kind in (PREDICTIONS, CONFIDENCE):
                shutil.rmtree(osp.join(round_dir, kind), ignore_errors=True)
    barrier()
    return stats
