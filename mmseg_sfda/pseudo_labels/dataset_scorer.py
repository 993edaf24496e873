"""Scoring a target set with a segmentor: the first pass of a pseudo-labelling round."""
import os
import os.path as osp
from typing import Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info, is_main_process
from mmengine.logging import print_log
from torch import Tensor, nn

from mmseg_sfda.utils.background_writer import BackgroundWriter
from mmseg_sfda.utils.progress import Progress
from mmseg_sfda.utils.pseudo_label_io import (CONFIDENCE, CONFIDENCE_SCALE, ENTROPY,
                                              META_FILE, NEGATIVE, PREDICTIONS,
                                              image_stem, read_confidence, read_json,
                                              read_label, round_file, write_confidence_raw,
                                              write_json_atomic, write_label,
                                              write_negative)
from .class_confidence_histogram import ClassConfidenceHistogram
from .image_split import image_entropy
from .negative_labels import negative_labels
from .spatial_priors import apply_spatial_prior, load_spatial_priors


def fingerprint(model: nn.Module) -> str:
    """A checksum of a labelling model's weights and statistics."""
    total = sum(float(v.double().sum()) for v in model.state_dict().values()
                if v.is_floating_point())
    return f'{total:.10e}'


def reusable(round_dir: str, model_fingerprint: str) -> bool:
    """Whether ``round_dir``'s files were made by the model of ``model_fingerprint``."""
    meta = read_json(osp.join(round_dir, META_FILE))
    return meta is not None and meta.get('fingerprint') == model_fingerprint


class DatasetScorer:
    """Scores every image of a loader with a segmentor in eval mode.

    An image's score map is its softmax (times the spatial prior, CBST-SP Eq. 9, with
    ``spatial_prior``). The first pass (:meth:`score_round`) writes per image its
    arg-max, arg-max score (and DAS3's negative labels, Eq. 6, with
    ``negative_threshold``; its mean entropy, Eq. 9, with ``entropy``) and files the
    scores into a :class:`ClassConfidenceHistogram`; a run killed midway reuses the
    images already written by the same model.

    Args:
        num_bins (int): histogram bins over [0, 1].
        negative_threshold (float, optional): write negative labels below it.
        entropy (bool): write each image's mean entropy.
        spatial_prior (str, optional): a file from tools/compute_spatial_priors.py.
    """

    def __init__(self, num_bins: int = 1000, negative_threshold: Optional[float] = None,
                 entropy: bool = False, spatial_prior: Optional[str] = None) -> None:
        self.num_bins = num_bins
        self.negative_threshold = negative_threshold
        self.entropy = entropy
        self.spatial_prior_path = spatial_prior
        self._prior: Optional[Tensor] = None

    def score_maps(self, model: nn.Module, batch: dict
                   ) -> Iterator[Tuple[str, Tensor, Tensor]]:
        """(stem, probabilities (1, C, H, W), score map (1, C, H, W)) of each image."""
        with torch.no_grad():
            outputs = model.test_step(batch)
        for out in outputs:
            prob = out.seg_logits.data.float().softmax(dim=0)[None]
            yield image_stem(out.img_path), prob, self._apply_prior(prob)

    def iterate(self, model: nn.Module, loader: Iterable, description: str
                ) -> Iterator[dict]:
        """The batches of ``loader`` with ``model`` in eval mode and a progress bar."""
        was_training = model.training
        model.eval()
        progress = Progress(len(loader.dataset), description, enabled=is_main_process())
        try:
            for batch in loader:
                yield batch
                progress.update(len(batch['inputs']) * get_dist_info()[1])
        finally:
            model.train(was_training)

    def score_round(self, model: nn.Module, loader: Iterable, round_dir: str,
                    model_fingerprint: str, num_classes: int
                    ) -> Tuple[ClassConfidenceHistogram, List[str], List[float]]:
        """First pass: per-image files, the all-reduced histograms, the stems and (with
        ``entropy``) each image's mean entropy (NaN without)."""
        hist = ClassConfidenceHistogram(num_classes, self.num_bins)
        reuse = reusable(round_dir, model_fingerprint)
        if is_main_process():
            os.makedirs(round_dir, exist_ok=True)
            write_json_atomic(osp.join(round_dir, META_FILE),
                              dict(fingerprint=model_fingerprint))
        barrier()
        stems: List[str] = []
        entropies: List[float] = []
        stems_seen = set()
        print_log(f'pseudo labels: labelling {len(loader.dataset)} images -> '
                  f'{round_dir}', logger='current')
        with BackgroundWriter() as writer:  # files written while the next image runs
            for batch in self.iterate(model, loader, 'pseudo labels'):
                self._score_images(model, batch, round_dir, reuse, writer, hist, stems,
                                   entropies, stems_seen)
        hist.all_reduce()
        return hist, stems, entropies

    def _score_images(self, model: nn.Module, batch: dict, round_dir: str, reuse: bool,
                      writer: BackgroundWriter, hist: ClassConfidenceHistogram,
                      stems: List[str], entropies: List[float], stems_seen: set) -> None:
        for stem, score, label, ent in self._score_batch(model, batch, round_dir, reuse,
                                                         writer):
            entropies.append(ent)
            hist.update_scores(torch.from_numpy(score), torch.from_numpy(label))
            if stem in stems_seen:
                raise ValueError(
                    f'PseudoLabelHook: two target images are named {stem}; '
                    'pseudo-label files are named after the image file name, '
                    'which must be unique in the target set')
            stems_seen.add(stem)
            stems.append(stem)

    def _score_batch(self, model: nn.Module, batch: dict, round_dir: str, reuse: bool,
                     writer: BackgroundWriter
                     ) -> Iterator[Tuple[str, np.ndarray, np.ndarray, float]]:
        """(stem, score, arg-max, mean entropy) of each image in ``batch``; reuses
        finished files."""
        todo = []
        for i, sample in enumerate(batch['data_samples']):
            stem = image_stem(sample.img_path)
            pred_file = round_file(round_dir, PREDICTIONS, stem)
            conf_file = round_file(round_dir, CONFIDENCE, stem)
            if reuse and osp.isfile(pred_file) and osp.isfile(conf_file) and (
                    self.negative_threshold is None
                    or osp.isfile(round_file(round_dir, NEGATIVE, stem))):
                yield (stem, read_confidence(conf_file), read_label(pred_file),
                       self._read_entropy(round_dir, stem))
            else:
                todo.append(i)
        if not todo:
            return
        sub = dict(inputs=[batch['inputs'][i] for i in todo],
                   data_samples=[batch['data_samples'][i] for i in todo])
        for stem, prob, score_map in self.score_maps(model, sub):
            score, label = score_map[0].max(dim=0)
            # the stored precision (steps of 1 / 65535), so reused and fresh files agree
            raw = torch.round(score.clamp(0, 1) * CONFIDENCE_SCALE).to(torch.int32)
            raw = raw.cpu().numpy().astype(np.uint16)
            label = label.to(torch.uint8).cpu().numpy()
            score = raw.astype(np.float32) / CONFIDENCE_SCALE
            negative = None
            if self.negative_threshold is not None:
                negative = negative_labels(prob[0], self.negative_threshold)
                negative = negative.permute(1, 2, 0).cpu().numpy()
            ent = image_entropy(prob) if self.entropy else float('nan')
            writer.submit(self._write_image, round_dir, stem, label, raw, negative, ent)
            yield stem, score, label, ent

    def _write_image(self, round_dir: str, stem: str, label: np.ndarray, raw: np.ndarray,
                     negative: Optional[np.ndarray], ent: float) -> None:
        """The first pass's files of one image."""
        if negative is not None:
            write_negative(round_file(round_dir, NEGATIVE, stem), negative)
        if self.entropy:
            write_json_atomic(round_file(round_dir, ENTROPY, stem), dict(entropy=ent))
        write_label(round_file(round_dir, PREDICTIONS, stem), label)
        # the score file comes last: its presence marks the image as done
        write_confidence_raw(round_file(round_dir, CONFIDENCE, stem), raw)

    def _read_entropy(self, round_dir: str, stem: str) -> float:
        if not self.entropy:
            return float('nan')
        path = round_file(round_dir, ENTROPY, stem)
        record = read_json(path)
        if record is None:
            raise FileNotFoundError(f'PseudoLabelHook: {path} is missing; delete '
                                    f'{round_dir} to relabel the round')
        return float(record['entropy'])

    def _apply_prior(self, prob: Tensor) -> Tensor:
        if self.spatial_prior_path is None:
            return prob
        if self._prior is None:
            prior = torch.as_tensor(
                load_spatial_priors(self.spatial_prior_path, num_classes=prob.shape[1]))
            self._prior = prior / prior.max().clamp(min=1e-12)  # scores stay in [0, 1]
        return apply_spatial_prior(prob, self._prior)
