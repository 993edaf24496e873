"""Offline pseudo labels for self-training, regenerated at round boundaries."""
import copy
import itertools
import math
import os
import os.path as osp
import shutil
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import (all_gather_object, all_reduce, barrier, get_dist_info,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from torch import Tensor, nn

from mmseg_sfda.utils.class_confidence_histogram import ClassConfidenceHistogram
from mmseg_sfda.utils.pseudo_label_io import (CONFIDENCE_SCALE, read_confidence, read_json, read_label,
                                              round_file, write_confidence,
                                              write_json_atomic, write_label,
                                              write_negative)
from mmseg_sfda.utils.progress import Progress
from mmseg_sfda.utils.rng_state import preserved_rng_state
from mmseg_sfda.utils.pseudo_label_thresholds import (apply_spatial_prior,
                                                      class_portion_thresholds,
                                                      global_portion_threshold,
                                                      median_thresholds,
                                                      self_paced_portion,
                                                      top_k_thresholds)
from .resume_iterator import ResumeIteratorProxy, real_iterator

POLICIES = ('global_portion', 'class_portion', 'top_k', 'median', 'all')
_DONE = 'DONE'


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _stem(img_path: str) -> str:
    return osp.splitext(osp.basename(img_path))[0]


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Label the target set with a model at round boundaries; training reads the labels.

    Round ``r`` starts at iteration ``r * round_iters`` (``r < max_rounds``). There the
    hook runs the chosen model over ``dataloader`` (the whole target set, no
    augmentation) with a progress bar and, per image, writes its arg-max class and score
    (and, with ``negative_threshold``, DAS3's negative labels); per-class score
    histograms (memory independent of the number of images, all-reduced across ranks)
    give the class thresholds of ``policy``; a second, inference-free pass writes the
    pseudo labels ``labels/{stem}.png`` (255 where a pixel's score is below its class
    threshold). Every file is written atomically under ``{out_dir}/round_{r}``.

    The training pipeline reads them through ``LoadPseudoLabel``: the hook points every
    such transform of the training dataset at the new round. With ``num_workers > 0``
    the training loader must not keep persistent workers (they would keep the old
    directory); the hook then restarts the loader's iterator.

    Policies (``policy=dict(type=..., **args)``):

    - ``global_portion`` (ST): one threshold keeping the top ``portion`` of all pixels;
    - ``class_portion`` (CBST Alg. 2): per class, the top ``portion`` of its pixels;
    - ``top_k`` (DAS3 Eq. 4-5): per class, the top ``k`` (0.65);
    - ``median`` (SIM, PixIntraDA): the class median capped at ``cap`` (0.9);
    - ``all``: every pixel keeps its arg-max class (threshold 0).

    Every policy takes ``scale`` (default 1): the thresholds are multiplied by it
    (PixIntraDA Eq. 2: a pixel is easy when its score reaches ``alpha * t_k``).

    ``portion`` is a number or the self-paced schedule ``dict(start=0.2, step=0.05,
    max_portion=0.5)`` (CBST: +5% a round). ``rounding`` ('floor', the released code, or
    'round', the paper) chooses the rank of the threshold. A pixel is kept when its score
    is >= the threshold (the released code; scores are stored in steps of 1/65535). The
    class is the arg-max of the (prior-weighted) score; CBST's arg-max of score /
    threshold (its Eq. 8) would need the full probability maps and is not offered.

    The round, its thresholds and directory are saved in checkpoints; a run resumed
    between rounds does not relabel, and one killed during labelling reuses the files
    already written (the labelling model's weights are fingerprinted; a different model
    relabels from scratch).

    Args:
        dataloader (dict, optional): the target set to label (pipeline:
            LoadImageFromFile, [Resize,] PackSegInputs; never the target ground truth).
            By default the training dataset that has ``LoadPseudoLabel`` in its
            pipeline, with ``label_pipeline`` instead, batch size 1, no shuffling.
        label_pipeline (list[dict], optional): the pipeline of that default loader;
            default ``[LoadImageFromFile, PackSegInputs]``.
        round_iters (int, optional): iterations per round.
        round_epochs (float, optional): rounds in passes over ``dataloader`` instead:
            ``round_iters = ceil(round_epochs * len(dataset) / train batch size)``.
        max_rounds (int, optional): no labelling after this many rounds.
        policy (dict): the threshold policy and its arguments.
        model (str): 'segmentor' (the model being trained) or 'source_model' (the frozen
            copy of a DomainAdaptiveSegmentor).
        num_bins (int): histogram bins over [0, 1] (thresholds within 1/num_bins).
        negative_threshold (float, optional): also write negative labels: classes with
            probability below it (DAS3 Eq. 6).
        spatial_prior (str, optional): a file from tools/compute_spatial_priors.py; the
            scores become prior x probability (CBST-SP Eq. 9).
        image_split (dict, optional): ``dict(easy_portion=0.3)`` ranks the images by
            mean prediction entropy (DAS3 Eq. 9; normalised by log C) and writes
            ``split.json`` (stem -> easy?) with the easiest ``easy_portion`` easy.
        out_dir (str, optional): default ``{work_dir}/pseudo_labels``.
        num_vis (int): images of each round drawn as image | prediction | pseudo label
            into ``round_{r}/vis.png``.
        keep_scores (bool, optional): keep ``predictions/`` and ``confidence/`` of a
            finished round (a few MB per Cityscapes image); by default only when a
            ``LoadPseudoLabel`` of the training set reads confidences.
    """

    priority = 'LOWEST'

    def __init__(self,
                 dataloader: Optional[dict] = None,
                 label_pipeline: Optional[List[dict]] = None,
                 round_iters: Optional[int] = None,
                 round_epochs: Optional[float] = None,
                 max_rounds: Optional[int] = None,
                 policy: dict = dict(type='class_portion', portion=0.2),
                 model: str = 'segmentor',
                 num_bins: int = 1000,
                 negative_threshold: Optional[float] = None,
                 spatial_prior: Optional[str] = None,
                 image_split: Optional[dict] = None,
                 out_dir: Optional[str] = None,
                 num_vis: int = 4,
                 keep_scores: Optional[bool] = None) -> None:
        if (round_iters is None) == (round_epochs is None):
            raise ValueError('PseudoLabelHook: give exactly one of round_iters and '
                             f'round_epochs (got {round_iters!r} and {round_epochs!r})')
        if round_iters is not None and round_iters < 1:
            raise ValueError(f'PseudoLabelHook: round_iters must be >= 1, got {round_iters}')
        if round_epochs is not None and round_epochs <= 0:
            raise ValueError(f'PseudoLabelHook: round_epochs must be > 0, got {round_epochs}')
        policy = dict(policy)
        if policy.get('type') not in POLICIES:
            raise ValueError(f'PseudoLabelHook: policy type must be one of {POLICIES}, '
                             f'got {policy.get("type")!r}')
        scale = policy.get('scale', 1.0)
        if not 0 < scale <= 1:
            raise ValueError('PseudoLabelHook: policy scale must be in (0, 1] (PixIntraDA '
                             f"alpha), got {scale!r}")
        if model not in ('segmentor', 'source_model'):
            raise ValueError("PseudoLabelHook: model must be 'segmentor' or "
                             f"'source_model', got {model!r}")
        self.dataloader_cfg = copy.deepcopy(dataloader)
        self.label_pipeline = copy.deepcopy(label_pipeline) or [
            dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
        self.round_iters = round_iters
        self.round_epochs = round_epochs
        self.max_rounds = max_rounds
        self.policy = policy
        self.model_name = model
        self.num_bins = num_bins
        self.negative_threshold = negative_threshold
        self.spatial_prior_path = spatial_prior
        self.image_split = None if image_split is None else dict(image_split)
        self.out_dir = out_dir
        self.num_vis = num_vis
        self.keep_scores = keep_scores
        self._loader = None
        self._prior: Optional[Tensor] = None
        # saved in checkpoints
        self.done_round = -1
        self.thresholds: List[List[float]] = []
        self.round_dir: Optional[str] = None

    # ----------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        checkpoint['pseudo_label_hook'] = dict(
            done_round=self.done_round, thresholds=self.thresholds,
            round_iters=self.round_iters)

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        state = checkpoint.get('pseudo_label_hook')
        if state is None:
            return
        self.done_round = state['done_round']
        self.thresholds = [list(t) for t in state['thresholds']]
        if self.round_iters is None:
            self.round_iters = state['round_iters']

    # ---------------------------------------------------------------- rounds
    def before_train(self, runner: Runner) -> None:
        if self.out_dir is None:
            self.out_dir = osp.join(runner.work_dir, 'pseudo_labels')
        self._check_train_loader(runner)
        if self.round_iters is None:
            self.round_iters = self._iters_per_round(runner)
        if self.done_round >= 0:  # resumed: the round directory is under out_dir
            self.round_dir = osp.join(self.out_dir, f'round_{self.done_round}')
            if not osp.isfile(osp.join(self.round_dir, _DONE)):
                raise FileNotFoundError(
                    f'PseudoLabelHook: the checkpoint points at pseudo labels in '
                    f'{self.round_dir}, which are missing or incomplete. Resume in the '
                    'work_dir the run was started in (or restore that folder).')
            self._point_transforms(runner, self.round_dir, restart=False)
        due = self._due_round(runner, runner.iter)
        if due is not None:
            self.label_round(runner, due, position=runner.iter)
        elif self.done_round < self.round_at(runner.iter):
            raise RuntimeError(
                f'PseudoLabelHook: iteration {runner.iter} belongs to round '
                f'{self.round_at(runner.iter)}, whose labels were never made; resume '
                'from a checkpoint saved by a run with this hook.')
        elif runner.iter > 0:  # resumed within a round: restart where the round did
            self._point_transforms(runner, self.round_dir,
                                   self.done_round * self.round_iters)
        if runner.iter > 0:
            self._skip_to_resumed_iter(runner)

    def _skip_to_resumed_iter(self, runner: Runner) -> None:
        """Worker loaders of a resumed run: the stream was restarted (fresh workers,
        mmengine's worker seeds) at the start of the current round, as in the
        uninterrupted run, so of the ``runner.iter`` batches the loop now skips only
        those since that start are fetched (advancing the workers' random states as
        the uninterrupted run did); the first ones are dropped unfetched."""
        loop, loader = runner.train_loop, runner.train_dataloader
        if loader.num_workers == 0 or self.done_round < 0 or not hasattr(
                loop, 'dataloader_iterator'):
            return
        loop.dataloader_iterator = ResumeIteratorProxy(
            loop, skip=runner.iter, absorb=self.done_round * self.round_iters)

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        # the loader fetches the next batch before any hook of the next iteration
        # runs, so a round is labelled at the end of the iteration before it (after
        # the checkpoint of that iteration is saved: priority LOWEST)
        due = self._due_round(runner, runner.iter + 1)
        if due is not None:  # drawing no random numbers: a resumed run does not label
            with preserved_rng_state():
                self.label_round(runner, due, position=runner.iter + 1)

    def _due_round(self, runner: Runner, it: int) -> Optional[int]:
        """The round that must be labelled before iteration ``it``, if any."""
        r = it // self.round_iters
        if it % self.round_iters or it >= runner.max_iters or r <= self.done_round or (
                self.max_rounds is not None and r >= self.max_rounds):
            return None
        return r

    def round_at(self, it: int) -> int:
        """The round iteration ``it`` belongs to (the last one past ``max_rounds``)."""
        r = it // self.round_iters
        if self.max_rounds is not None:
            r = min(r, self.max_rounds - 1)
        return r

    def label_round(self, runner: Runner, r: int, position: int = 0) -> None:
        """Write round ``r``'s pseudo labels with the current weights and use them.

        A complete round directory made by the same weights (a run killed after
        labelling, before its next checkpoint) is adopted as it is."""
        self._refresh_bn_statistics(runner)
        model = self._labelling_model(runner)
        round_dir = osp.join(self.out_dir, f'round_{r}')
        fingerprint = self._fingerprint(model)
        stats = read_json(osp.join(round_dir, 'class_stats.json'))
        if osp.isfile(osp.join(round_dir, _DONE)) and stats is not None and \
                self._reusable(round_dir, fingerprint):
            thresholds = torch.tensor(stats['thresholds'])
            print_log(f'pseudo labels round {r}: reusing {round_dir}', logger='current')
        else:
            hist, stems, entropies = self._predict_all(runner, model, round_dir,
                                                       fingerprint)
            if self.image_split is not None:
                self._write_split(round_dir, stems, entropies)
            thresholds = self._thresholds(hist, r)
            kept = self._write_labels(round_dir, stems, thresholds)
            self._finish_round(runner, round_dir, r, hist, thresholds, kept)
        self.done_round, self.round_dir = r, round_dir
        self.thresholds.append([float(t) for t in thresholds])
        self._point_transforms(runner, round_dir, position)

    # ------------------------------------------------------------ labelling
    def _labelling_model(self, runner: Runner) -> nn.Module:
        outer = _unwrap(runner.model)
        if self.model_name == 'segmentor':
            model = _unwrap(getattr(outer, 'segmentor', outer))
        else:
            if not hasattr(outer, 'source_model'):
                raise AttributeError(
                    f"PseudoLabelHook: model='source_model' but {type(outer).__name__} "
                    'has no frozen source copy; use a DomainAdaptiveSegmentor with '
                    "with_source_model, or model='segmentor'")
            model = outer.source_model
        return model

    def _refresh_bn_statistics(self, runner: Runner) -> None:
        """With ``bn_stats.refresh`` on the model, label with target BN statistics:
        ``BNStatsHook`` re-estimates them on the labelling model first."""
        policy = getattr(_unwrap(runner.model), 'bn_stats', None)
        if policy is None or not policy.refresh:
            return
        hooks = [h for h in runner.hooks if hasattr(h, 'refresh') and
                 type(h).__name__ == 'BNStatsHook']
        if not hooks:
            raise RuntimeError('PseudoLabelHook: the model has bn_stats.refresh=True, '
                               "which needs dict(type='BNStatsHook') in custom_hooks")
        hooks[0].refresh(runner, with_source_model=self.model_name == 'source_model')

    def _build_loader(self, runner: Runner):
        if self._loader is None:
            cfg = copy.deepcopy(self.dataloader_cfg)
            if cfg is None:
                cfg = self._default_loader_cfg(runner)
            cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=False))
            self._loader = Runner.build_dataloader(cfg, seed=runner.seed)
        return self._loader

    def _default_loader_cfg(self, runner: Runner) -> dict:
        """The pseudo-labelled training dataset with ``label_pipeline``."""
        found = self._pseudo_labelled_dataset_cfg(runner.cfg.get('train_dataloader', {})
                                                  .get('dataset'))
        if found is None:
            raise ValueError('PseudoLabelHook: no training dataset config has '
                             'LoadPseudoLabel in its pipeline; give the hook a '
                             'dataloader= to label')
        dataset = copy.deepcopy(dict(found))
        dataset['pipeline'] = copy.deepcopy(self.label_pipeline)
        return dict(batch_size=1, num_workers=runner.train_dataloader.num_workers,
                    persistent_workers=False, dataset=dataset)

    @staticmethod
    def _pseudo_labelled_dataset_cfg(cfg) -> Optional[dict]:
        """The first dataset config (depth first) whose pipeline loads pseudo labels."""
        stack = [cfg]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict):
                continue
            pipeline = node.get('pipeline') or []
            if any(isinstance(t, dict) and t.get('type') == 'LoadPseudoLabel'
                   for t in pipeline):
                return node
            for key in ('dataset', 'source', 'target'):
                stack.append(node.get(key))
            stack.extend(node.get('datasets') or [])
        return None

    def _predict_all(self, runner: Runner, model: nn.Module, round_dir: str,
                     fingerprint: str
                     ) -> Tuple[ClassConfidenceHistogram, List[str], List[float]]:
        """First pass: per-image arg-max and score files, the histograms and (with
        ``image_split``) each image's mean entropy."""
        loader = self._build_loader(runner)
        num_classes = self._num_classes(model)
        hist = ClassConfidenceHistogram(num_classes, self.num_bins)
        reuse = self._reusable(round_dir, fingerprint)
        if is_main_process():
            os.makedirs(round_dir, exist_ok=True)
            write_json_atomic(osp.join(round_dir, 'meta.json'),
                              dict(fingerprint=fingerprint))
        barrier()
        stems: List[str] = []
        entropies: List[float] = []
        stems_seen = set()
        was_training = model.training
        model.eval()
        progress = Progress(len(loader.dataset), 'pseudo labels',
                            enabled=is_main_process())
        print_log(f'pseudo labels: labelling {len(loader.dataset)} images -> '
                  f'{round_dir}', logger='current')
        try:
            for batch in loader:
                for stem, score, label, ent in self._scores(model, batch, round_dir,
                                                            reuse):
                    entropies.append(ent)
                    hist.update_scores(torch.from_numpy(score), torch.from_numpy(label))
                    if stem in stems_seen:
                        raise ValueError(
                            f'PseudoLabelHook: two target images are named {stem}; '
                            'pseudo-label files are named after the image file name, '
                            'which must be unique in the target set')
                    stems_seen.add(stem)
                    stems.append(stem)
                progress.update(len(batch['inputs']) * get_dist_info()[1])
        finally:
            model.train(was_training)
        hist.all_reduce()
        return hist, stems, entropies

    def _scores(self, model: nn.Module, batch: dict, round_dir: str,
                reuse: bool) -> Iterator[Tuple[str, np.ndarray, np.ndarray, float]]:
        """(stem, score, arg-max, mean entropy) of each image in ``batch``; reuses
        finished files (the entropy is NaN without ``image_split``)."""
        todo = []
        for i, sample in enumerate(batch['data_samples']):
            stem = _stem(sample.img_path)
            pred_file = round_file(round_dir, 'predictions', stem)
            conf_file = round_file(round_dir, 'confidence', stem)
            if reuse and osp.isfile(pred_file) and osp.isfile(conf_file) and (
                    self.negative_threshold is None
                    or osp.isfile(round_file(round_dir, 'negative', stem))):
                yield (stem, read_confidence(conf_file), read_label(pred_file),
                       self._read_entropy(round_dir, stem))
            else:
                todo.append(i)
        if not todo:
            return
        sub = dict(inputs=[batch['inputs'][i] for i in todo],
                   data_samples=[batch['data_samples'][i] for i in todo])
        with torch.no_grad():
            outputs = model.test_step(sub)
        for out in outputs:
            prob = out.seg_logits.data.float().softmax(dim=0)[None]
            stem = _stem(out.img_path)
            score_map = self._apply_prior(prob)
            score, label = score_map[0].max(dim=0)
            score, label = score.cpu().numpy(), label.cpu().numpy().astype(np.uint8)
            # the stored precision, so that reused and fresh files count alike
            score = np.rint(np.clip(score, 0, 1) * CONFIDENCE_SCALE) / CONFIDENCE_SCALE
            if self.negative_threshold is not None:
                negative = (prob[0] < self.negative_threshold).permute(1, 2, 0)
                write_negative(round_file(round_dir, 'negative', stem),
                               negative.cpu().numpy())
            ent = float('nan')
            if self.image_split is not None:
                ent = float(-(prob * prob.clamp(min=1e-12).log()).sum(dim=1).mean() /
                            math.log(prob.shape[1]))
                write_json_atomic(round_file(round_dir, 'entropy', stem),
                                  dict(entropy=ent))
            write_label(round_file(round_dir, 'predictions', stem), label)
            # the score file comes last: its presence marks the image as done
            write_confidence(round_file(round_dir, 'confidence', stem), score)
            yield stem, score, label, ent

    def _read_entropy(self, round_dir: str, stem: str) -> float:
        if self.image_split is None:
            return float('nan')
        path = round_file(round_dir, 'entropy', stem)
        record = read_json(path)
        if record is None:
            raise FileNotFoundError(f'PseudoLabelHook: {path} is missing; delete '
                                    f'{round_dir} to relabel the round')
        return float(record['entropy'])

    def _write_split(self, round_dir: str, stems: List[str],
                     entropies: List[float]) -> None:
        """``split.json``: the easiest ``easy_portion`` of all images (over all ranks)
        by mean entropy (DAS3 Eq. 9; ties by name) are easy."""
        pairs = [p for part in all_gather_object(list(zip(stems, entropies)))
                 for p in part]
        ranked = sorted(dict(pairs).items(), key=lambda kv: (kv[1], kv[0]))
        num_easy = int(len(ranked) * self.image_split.get('easy_portion', 0.3))
        split = {stem: i < num_easy for i, (stem, _) in enumerate(ranked)}
        if is_main_process():
            write_json_atomic(osp.join(round_dir, 'split.json'), split)
        barrier()

    def _apply_prior(self, prob: Tensor) -> Tensor:
        if self.spatial_prior_path is None:
            return prob
        if self._prior is None:
            from mmseg_sfda.utils.spatial_priors import load_spatial_priors
            prior = torch.as_tensor(
                load_spatial_priors(self.spatial_prior_path, num_classes=prob.shape[1]))
            self._prior = prior / prior.max().clamp(min=1e-12)  # scores stay in [0, 1]
        return apply_spatial_prior(prob, self._prior)

    def _thresholds(self, hist: ClassConfidenceHistogram, r: int) -> Tensor:
        """The policy's class thresholds, times its ``scale``."""
        args = {k: v for k, v in self.policy.items() if k not in ('type', 'scale')}
        return self._policy_thresholds(hist, r, args) * self.policy.get('scale', 1.0)

    def _policy_thresholds(self, hist: ClassConfidenceHistogram, r: int,
                           args: dict) -> Tensor:
        kind = self.policy['type']
        if kind == 'all':
            return torch.zeros(hist.num_classes)
        if kind == 'median':
            return median_thresholds(hist, **args)
        if kind == 'top_k':
            return top_k_thresholds(hist, **args)
        portion = args.pop('portion', 0.2)
        if isinstance(portion, dict):
            portion = self_paced_portion(r, **portion)
        fn = global_portion_threshold if kind == 'global_portion' else \
            class_portion_thresholds
        return fn(hist, portion, **args)

    def _write_labels(self, round_dir: str, stems: Sequence[str],
                      thresholds: Tensor) -> Tensor:
        """Second pass (no inference): threshold the stored scores into labels."""
        thr = thresholds.numpy().astype(np.float32)
        kept = torch.zeros(len(thr), dtype=torch.float64)
        for stem in stems:
            label = read_label(round_file(round_dir, 'predictions', stem))
            score = read_confidence(round_file(round_dir, 'confidence', stem))
            keep = score >= thr[label]
            pseudo = np.where(keep, label, 255).astype(np.uint8)
            write_label(round_file(round_dir, 'labels', stem), pseudo)
            kept += torch.bincount(torch.from_numpy(pseudo[keep].astype(np.int64)),
                                   minlength=len(thr))[:len(thr)].double()
        all_reduce(kept)
        return kept

    def _finish_round(self, runner: Runner, round_dir: str, r: int,
                      hist: ClassConfidenceHistogram, thresholds: Tensor,
                      kept: Tensor) -> None:
        barrier()
        counts = torch.tensor([hist.count(c) for c in range(hist.num_classes)],
                              dtype=torch.float64)
        total = float(counts.sum()) or 1.0
        stats = dict(round=r, num_classes=hist.num_classes, policy=self.policy,
                     thresholds=[float(t) for t in thresholds],
                     pixel_fraction=(counts / total).tolist(),
                     kept_fraction=(kept / total).tolist(),
                     kept_total=float(kept.sum()) / total)
        if is_main_process():
            write_json_atomic(osp.join(round_dir, 'class_stats.json'), stats)
            self._draw(runner, round_dir)
            write_json_atomic(osp.join(round_dir, _DONE), dict(round=r))
            if not self._keeps_scores(runner):
                for kind in ('predictions', 'confidence'):
                    shutil.rmtree(osp.join(round_dir, kind), ignore_errors=True)
        barrier()
        print_log(f'pseudo labels round {r}: {100 * stats["kept_total"]:.1f}% of pixels '
                  'labelled; thresholds ' +
                  ' '.join(f'{t:.3f}' for t in stats['thresholds']), logger='current')

    # ----------------------------------------------------------- utilities
    def _keeps_scores(self, runner: Runner) -> bool:
        if self.keep_scores is not None:
            return self.keep_scores
        return any(getattr(t, 'with_confidence', False) for t in
                   self._pseudo_label_transforms(runner.train_dataloader.dataset))

    @staticmethod
    def _num_classes(model: nn.Module) -> int:
        head = getattr(model, 'decode_head', None)
        if head is None or not hasattr(head, 'num_classes'):
            raise AttributeError(f'PseudoLabelHook: {type(model).__name__} has no '
                                 'decode_head.num_classes; label with an mmseg segmentor')
        return head.num_classes

    @staticmethod
    def _fingerprint(model: nn.Module) -> str:
        """A checksum of the labelling model's weights and statistics."""
        total = sum(float(v.double().sum()) for v in model.state_dict().values()
                    if v.is_floating_point())
        return f'{total:.10e}'

    @staticmethod
    def _reusable(round_dir: str, fingerprint: str) -> bool:
        meta = read_json(osp.join(round_dir, 'meta.json'))
        return meta is not None and meta.get('fingerprint') == fingerprint

    def _iters_per_round(self, runner: Runner) -> int:
        num_images = len(self._build_loader(runner).dataset)
        batch = runner.train_dataloader.batch_size * get_dist_info()[1]
        return max(1, math.ceil(self.round_epochs * num_images / batch))

    @staticmethod
    def _pseudo_label_transforms(dataset) -> Iterator[object]:
        """Every transform with a ``pseudo_label_dir`` in ``dataset``'s pipelines."""
        seen = set()
        stack = [dataset]
        while stack:
            ds = stack.pop()
            if ds is None or id(ds) in seen:
                continue
            seen.add(id(ds))
            for t in getattr(getattr(ds, 'pipeline', None), 'transforms', []):
                if hasattr(t, 'pseudo_label_dir'):
                    yield t
            for name in ('dataset', 'source', 'target'):
                stack.append(getattr(ds, name, None))
            stack.extend(getattr(ds, 'datasets', []) or [])

    def _check_train_loader(self, runner: Runner) -> None:
        loader = runner.train_dataloader
        if not list(self._pseudo_label_transforms(loader.dataset)):
            raise ValueError('PseudoLabelHook: the training pipeline has no '
                             'LoadPseudoLabel transform to read the pseudo labels; add '
                             "dict(type='LoadPseudoLabel') after LoadImageFromFile")
        if loader.num_workers > 0 and loader.persistent_workers:
            raise ValueError('PseudoLabelHook: set train_dataloader.persistent_workers='
                             'False (persistent workers would keep reading the pseudo '
                             'labels of the first round)')

    def _point_transforms(self, runner: Runner, round_dir: str,
                          position: int = 0, restart: bool = True) -> None:
        """Make the training pipeline read ``round_dir``.

        With worker processes (and ``restart``) the loader restarts (fresh workers see
        the new directory; batches prefetched with the old labels are dropped), its
        sampler continuing at batch ``position`` of the uninterrupted stream (an
        ``InfiniteSampler``)."""
        for t in self._pseudo_label_transforms(runner.train_dataloader.dataset):
            t.pseudo_label_dir = round_dir
        loop = runner.train_loop
        loader = runner.train_dataloader
        if not restart or loader.num_workers == 0 or not hasattr(loop,
                                                                 'dataloader_iterator'):
            return
        iterator_type = type(real_iterator(loop.dataloader_iterator))
        # dropping the old iterator closes the sampler's shared index generator ...
        loop.dataloader_iterator = None
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        if hasattr(sampler, '_indices_of_rank'):  # ... so start a new one, in place
            skip = (position or 0) * loader.batch_size
            sampler.indices = itertools.islice(sampler._indices_of_rank(), skip, None)
        loop.dataloader_iterator = iterator_type(loop.dataloader)

    def _draw(self, runner: Runner, round_dir: str) -> None:
        if self.num_vis <= 0:
            return
        from mmseg_sfda.visualization.prediction_grid import colorize, make_grid, save_rgb
        import cv2
        dataset = self._build_loader(runner).dataset
        palette = dataset.metainfo.get('palette')
        rows = []
        for i in range(min(self.num_vis, len(dataset))):
            img_path = dataset.get_data_info(i)['img_path']
            stem = _stem(img_path)
            rgb = cv2.imread(img_path, cv2.IMREAD_COLOR)[..., ::-1]
            pred = read_label(round_file(round_dir, 'predictions', stem))
            label = read_label(round_file(round_dir, 'labels', stem))
            rows.append({'image': np.ascontiguousarray(rgb),
                         'prediction': colorize(pred, palette),
                         'pseudo label': colorize(label, palette)})
        save_rgb(osp.join(round_dir, 'vis.png'), make_grid(rows))
