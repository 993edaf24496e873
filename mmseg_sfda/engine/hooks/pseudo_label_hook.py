"""Offline pseudo labels for self-training, regenerated at round boundaries."""
import copy
import math
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from torch import nn

from mmseg_sfda.pseudo_labels.dataset_scorer import DatasetScorer, fingerprint, reusable
from mmseg_sfda.pseudo_labels.image_split import easy_split
from mmseg_sfda.pseudo_labels.label_writer import (finish_round, write_labels,
                                                   write_labels_from_scores)
from mmseg_sfda.pseudo_labels.policies import BasePseudoLabelPolicy
from mmseg_sfda.registry import PSEUDO_LABEL_POLICIES
from mmseg_sfda.utils.nested_datasets import nested_datasets
from mmseg_sfda.utils.pseudo_label_io import (CLASS_STATS_FILE, DONE_FILE, LABELS,
                                              PREDICTIONS, SPLIT_FILE, image_stem,
                                              read_json, read_label, round_file,
                                              write_json_atomic)
from mmseg_sfda.utils.rng_state import preserved_rng_state
from ..train_loader_restart import (point_train_loader, pseudo_label_transforms,
                                    skip_restarted_batches)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


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

    Policies (``policy=dict(type=..., **args)``, built from ``PSEUDO_LABEL_POLICIES``,
    one file each in ``mmseg_sfda/pseudo_labels/policies/``):

    - ``global_portion`` (ST): one threshold keeping the top ``portion`` of all pixels;
    - ``class_portion`` (CBST Alg. 2): per class, the top ``portion`` of its pixels;
      ``normalize=True``: Eq. 8's arg-max of score / threshold;
    - ``top_k`` (DAS3 Eq. 4-5): per class, the top ``k`` (0.65);
    - ``median`` (SIM, PixIntraDA): the class median capped at ``cap`` (0.9);
      ``rule='any'``: PixIntraDA Eq. 2-3's "any class passes";
    - ``all``: every pixel keeps its arg-max class (threshold 0).

    Every policy takes ``scale`` (default 1): the thresholds are multiplied by it
    (PixIntraDA Eq. 2: a pixel is easy when its score reaches ``alpha * t_k``).
    ``portion`` is a number or the self-paced schedule ``dict(start=0.2, step=0.05,
    max_portion=0.5)`` (CBST: +5% a round). A pixel is kept when its score is >= the
    threshold (the released code; scores are stored in steps of 1/65535). The two rules
    that need every class's score (Eq. 8, Eq. 2-3) score the target set a second time.

    Parts: :class:`DatasetScorer` (scoring and per-image files),
    :mod:`~mmseg_sfda.pseudo_labels.label_writer` (thresholding, class statistics),
    :mod:`~mmseg_sfda.engine.train_loader_restart` (the training loader); this hook
    decides when (rounds, resume).

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
        if policy.get('type') not in PSEUDO_LABEL_POLICIES:
            raise ValueError('PseudoLabelHook: policy type must be one of '
                             f'{sorted(PSEUDO_LABEL_POLICIES.module_dict)}, '
                             f'got {policy.get("type")!r}')
        with DefaultScope.overwrite_default_scope('mmseg_sfda'):  # the registry's own
            self.rule: BasePseudoLabelPolicy = PSEUDO_LABEL_POLICIES.build(
                copy.deepcopy(policy))
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
        self.image_split = None if image_split is None else dict(image_split)
        self.scorer = DatasetScorer(num_bins, negative_threshold,
                                    entropy=self.image_split is not None,
                                    spatial_prior=spatial_prior)
        self.out_dir = out_dir
        self.num_vis = num_vis
        self.keep_scores = keep_scores
        self._loader = None
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
            if not osp.isfile(osp.join(self.round_dir, DONE_FILE)):
                raise FileNotFoundError(
                    f'PseudoLabelHook: the checkpoint points at pseudo labels in '
                    f'{self.round_dir}, which are missing or incomplete. Resume in the '
                    'work_dir the run was started in (or restore that folder).')
            point_train_loader(runner, self.round_dir, restart=False)
        due = self._due_round(runner, runner.iter)
        if due is not None:
            self.label_round(runner, due, position=runner.iter)
        elif self.done_round < self.round_at(runner.iter):
            raise RuntimeError(
                f'PseudoLabelHook: iteration {runner.iter} belongs to round '
                f'{self.round_at(runner.iter)}, whose labels were never made; resume '
                'from a checkpoint saved by a run with this hook.')
        elif runner.iter > 0:  # resumed within a round: restart where the round did
            point_train_loader(runner, self.round_dir, self.done_round * self.round_iters)
        if runner.iter > 0:
            self._skip_to_resumed_iter(runner)

    def _skip_to_resumed_iter(self, runner: Runner) -> None:
        """Worker loaders of a resumed run: the stream was restarted at the start of
        the current round, as in the uninterrupted run (see
        :func:`skip_restarted_batches`)."""
        if self.done_round >= 0:
            skip_restarted_batches(runner, absorb=self.done_round * self.round_iters)

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
        model_fingerprint = fingerprint(model)
        stats = read_json(osp.join(round_dir, CLASS_STATS_FILE))
        if osp.isfile(osp.join(round_dir, DONE_FILE)) and stats is not None and \
                reusable(round_dir, model_fingerprint):
            thresholds = torch.tensor(stats['thresholds'])
            print_log(f'pseudo labels round {r}: reusing {round_dir}', logger='current')
        else:
            loader = self._build_loader(runner)
            hist, stems, entropies = self.scorer.score_round(
                model, loader, round_dir, model_fingerprint, self._num_classes(model))
            if self.image_split is not None:
                self._write_split(round_dir, stems, entropies)
            thresholds = self.rule.thresholds(hist, r)
            if self.rule.uses_probabilities:
                kept = write_labels_from_scores(round_dir, thresholds, self.rule,
                                                self.scorer, model, loader)
            else:
                kept = write_labels(round_dir, stems, thresholds, self.rule)
            stats = finish_round(round_dir, r, self.policy, hist, thresholds, kept,
                                 self._keeps_scores(runner),
                                 lambda d: self._draw(runner, d))
            print_log(f'pseudo labels round {r}: {100 * stats["kept_total"]:.1f}% of '
                      'pixels labelled; thresholds ' +
                      ' '.join(f'{t:.3f}' for t in stats['thresholds']), logger='current')
        self.done_round, self.round_dir = r, round_dir
        self.thresholds.append([float(t) for t in thresholds])
        point_train_loader(runner, round_dir, position)

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
        for node in nested_datasets(cfg):
            if isinstance(node, dict) and any(
                    isinstance(t, dict) and t.get('type') == 'LoadPseudoLabel'
                    for t in node.get('pipeline') or []):
                return node
        return None

    def _write_split(self, round_dir: str, stems: List[str],
                     entropies: List[float]) -> None:
        """``split.json``: the easiest ``easy_portion`` of all images (over all ranks)
        by mean entropy (DAS3 Eq. 9)."""
        pairs = [p for part in all_gather_object(list(zip(stems, entropies)))
                 for p in part]
        split = easy_split(pairs, self.image_split.get('easy_portion', 0.3))
        if is_main_process():
            write_json_atomic(osp.join(round_dir, SPLIT_FILE), split)
        barrier()

    # ----------------------------------------------------------- utilities
    def _keeps_scores(self, runner: Runner) -> bool:
        if self.keep_scores is not None:
            return self.keep_scores
        return any(getattr(t, 'with_confidence', False) for t in
                   pseudo_label_transforms(runner.train_dataloader.dataset))

    @staticmethod
    def _num_classes(model: nn.Module) -> int:
        head = getattr(model, 'decode_head', None)
        if head is None or not hasattr(head, 'num_classes'):
            raise AttributeError(f'PseudoLabelHook: {type(model).__name__} has no '
                                 'decode_head.num_classes; label with an mmseg segmentor')
        return head.num_classes

    def _iters_per_round(self, runner: Runner) -> int:
        num_images = len(self._build_loader(runner).dataset)
        batch = runner.train_dataloader.batch_size * get_dist_info()[1]
        return max(1, math.ceil(self.round_epochs * num_images / batch))

    def _check_train_loader(self, runner: Runner) -> None:
        loader = runner.train_dataloader
        if not list(pseudo_label_transforms(loader.dataset)):
            raise ValueError('PseudoLabelHook: the training pipeline has no '
                             'LoadPseudoLabel transform to read the pseudo labels; add '
                             "dict(type='LoadPseudoLabel') after LoadImageFromFile")
        if loader.num_workers > 0 and loader.persistent_workers:
            raise ValueError('PseudoLabelHook: set train_dataloader.persistent_workers='
                             'False (persistent workers would keep reading the pseudo '
                             'labels of the first round)')

    def _draw(self, runner: Runner, round_dir: str) -> None:
        if self.num_vis <= 0:
            return
        from mmseg_sfda.visualization.prediction_grid import colorize, make_grid, save_rgb
        dataset = self._build_loader(runner).dataset
        palette = dataset.metainfo.get('palette')
        rows = []
        for i in range(min(self.num_vis, len(dataset))):
            img_path = dataset.get_data_info(i)['img_path']
            stem = image_stem(img_path)
            rgb = cv2.imread(img_path, cv2.IMREAD_COLOR)[..., ::-1]
            pred = read_label(round_file(round_dir, PREDICTIONS, stem))
            label = read_label(round_file(round_dir, LABELS, stem))
            rows.append({'image': np.ascontiguousarray(rgb),
                         'prediction': colorize(pred, palette),
                         'pseudo label': colorize(label, palette)})
        save_rgb(osp.join(round_dir, 'vis.png'), make_grid(rows))
