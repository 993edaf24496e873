"""Target BatchNorm statistics for the policy of a DomainAdaptiveSegmentor (``bn_stats``)."""
import copy
import logging
from typing import List, Optional

from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from torch import nn

from mmseg_sfda.models.utils.adabn import adapt_bn_statistics, batch_norm_layers
from mmseg_sfda.utils.rng_state import preserved_rng_state

#: pipeline steps that need labels the target set does not have (dropped by default)
_LABEL_STEPS = ('LoadAnnotations', 'LoadPseudoLabel')


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class BNStatsHook(Hook):
    """Re-estimate BatchNorm statistics on the target train set as ``bn_stats`` says.

    The policy is the ``bn_stats`` of the (DDP-unwrapped) :class:`DomainAdaptiveSegmentor`
    (see :class:`~mmseg_sfda.models.utils.bn_stats_policy.BNStatsPolicy`):

    - ``init='target'``: before iteration 0 (not on resume: the statistics are in the
      checkpoint), AdaBN (:func:`~mmseg_sfda.models.utils.adabn.adapt_bn_statistics`) on the
      trained segmentor and on the frozen ``source_model`` when a ``PseudoLabelHook``
      labels with it;
    - ``refresh=True``: the same on the segmentor after the last iteration (before the
      final checkpoint and validation), and, called by ``PseudoLabelHook``, before every
      labelling round.

    With several processes each rank estimates on its shard and the statistics are
    averaged. No estimate changes a global random state (dropout in train mode would),
    so a run draws the same random numbers whatever the policy. With the default policy
    the hook does nothing.

    Args:
        dataloader (dict, optional): the target images. By default the training set's
            target part (``DomainPairDataset.target``, or the training set itself for
            target-only methods) with ``pipeline``, ``batch_size``, no shuffling.
        pipeline (list[dict], optional): default: the test dataloader's pipeline without
            its label loading (the images as they are scored), else
            ``[LoadImageFromFile, PackSegInputs]``.
        batch_size (int, optional): default: the training batch size (at least 2).
        max_batches (int, optional): use at most this many batches per estimate.
    """

    priority = 'NORMAL'  # before PseudoLabelHook (LOWEST) and CheckpointHook (VERY_LOW)

    def __init__(self,
                 dataloader: Optional[dict] = None,
                 pipeline: Optional[List[dict]] = None,
                 batch_size: Optional[int] = None,
                 max_batches: Optional[int] = None) -> None:
        if batch_size is not None and batch_size < 2:
            raise ValueError(f'BNStatsHook: batch_size must be >= 2 (BatchNorm in train '
                             f'mode needs more than one image), got {batch_size}')
        self.dataloader_cfg = copy.deepcopy(dataloader)
        self.pipeline = copy.deepcopy(pipeline)
        self.batch_size = batch_size
        self.max_batches = max_batches
        self._loader = None
        self._fresh = False  # the segmentor's statistics match its current weights
        self._source_adapted = False
        self._warned: set = set()  # parts without BatchNorm, warned about once

    # ---------------------------------------------------------------- hooks
    @staticmethod
    def policy_of(runner: Runner):
        """The ``bn_stats`` policy of the runner's model (None for other models)."""
        return getattr(_unwrap(runner.model), 'bn_stats', None)

    def before_train(self, runner: Runner) -> None:
        model = _unwrap(runner.model)
        policy = self.policy_of(runner)
        if policy is None:
            raise TypeError(f'BNStatsHook: {type(model).__name__} has no bn_stats policy; '
                            'it works with a DomainAdaptiveSegmentor')
        if policy.init == 'target' and runner.iter == 0:
            self.refresh(runner, with_source_model=self._labels_with_source_model(runner))
        model.bn_stats_ready = True

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._fresh = False

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        policy = self.policy_of(runner)
        if policy is not None and policy.refresh and runner.iter + 1 == runner.max_iters:
            self.refresh(runner)

    # ------------------------------------------------------------ estimates
    def refresh(self, runner: Runner, with_source_model: bool = False) -> None:
        """AdaBN on the segmentor (unless nothing trained since the last estimate) and,
        with ``with_source_model``, once on the frozen source copy."""
        model = _unwrap(runner.model)
        targets = []
        if not self._fresh:
            targets.append(('segmentor', _unwrap(model.segmentor)))
        if with_source_model and not self._source_adapted:
            if not hasattr(model, 'source_model'):
                raise AttributeError(f'BNStatsHook: {type(model).__name__} has no frozen '
                                     'source_model to re-estimate')
            targets.append(('source_model', _unwrap(model.source_model)))
        for name, module in targets:
            if not batch_norm_layers(module):
                if name not in self._warned:
                    self._warned.add(name)
                    print_log(f'BNStatsHook: the {name} has no BatchNorm layer (a '
                              'LayerNorm / GroupNorm model): bn_stats has nothing to '
                              're-estimate; bn_stats=dict() silences this',
                              logger='current', level=logging.WARNING)
                continue
            with preserved_rng_state():  # training draws the same random numbers
                used = adapt_bn_statistics(module, self._build_loader(runner),
                                           max_batches=self.max_batches,
                                           show_progress=is_main_process())
            self._average_over_ranks(module)
            print_log(f'BNStatsHook: {name} BatchNorm statistics re-estimated on {used} '
                      f'target batches (iteration {runner.iter})', logger='current')
            if name == 'segmentor':
                self._fresh = True
            else:
                self._source_adapted = True

    @staticmethod
    def _average_over_ranks(module: nn.Module) -> None:
        if get_dist_info()[1] == 1:
            return
        for bn in batch_norm_layers(module):
            if bn.running_mean is not None:
                for buf in (bn.running_mean, bn.running_var):
                    all_reduce(buf, op='mean')

    @staticmethod
    def _labels_with_source_model(runner: Runner) -> bool:
        return any(getattr(h, 'model_name', None) == 'source_model' for h in runner.hooks)

    # --------------------------------------------------------------- loader
    def _build_loader(self, runner: Runner):
        if self._loader is None:
            cfg = copy.deepcopy(self.dataloader_cfg) or self._default_loader_cfg(runner)
            cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=False))
            self._loader = Runner.build_dataloader(cfg, seed=runner.seed)
        return self._loader

    def _default_loader_cfg(self, runner: Runner) -> dict:
        train = runner.cfg.get('train_dataloader') or {}
        dataset = train.get('dataset')
        while isinstance(dataset, dict) and ('target' in dataset or (
                'dataset' in dataset and 'pipeline' not in dataset)):
            dataset = dataset.get('target', dataset.get('dataset'))
        if not isinstance(dataset, dict):
            raise ValueError('BNStatsHook: cannot find the target training dataset in '
                             'train_dataloader; give the hook a dataloader=')
        dataset = copy.deepcopy(dict(dataset))
        dataset['pipeline'] = self.pipeline or self._default_pipeline(runner)
        return dict(batch_size=self.batch_size or max(2, train.get('batch_size', 2)),
                    num_workers=train.get('num_workers', 0), persistent_workers=False,
                    dataset=dataset)

    @staticmethod
    def _default_pipeline(runner: Runner) -> List[dict]:
        test = (runner.cfg.get('test_dataloader') or {}).get('dataset') or {}
        pipeline = [copy.deepcopy(dict(t)) for t in test.get('pipeline') or []
                    if t.get('type') not in _LABEL_STEPS]
        if not pipeline:
            pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
        return pipeline
