"""The BatchNorm-statistics policy of a DomainAdaptiveSegmentor (``bn_stats=dict(...)``)."""
from contextlib import nullcontext
from typing import ContextManager, Optional

from torch import nn

from .train_utils import frozen_bn_statistics

INIT = ('source', 'target')
TRACK = ('all', 'target')


class BNStatsPolicy:
    """Which running BatchNorm statistics a method trains and scores with.

    - ``init``: ``'source'`` (default) starts from the source model's running statistics;
      ``'target'`` re-estimates them on the target train set (AdaBN,
      :func:`mmseg_sfda.models.utils.adabn.adapt_bn_statistics`) before iteration 0, for the
      trained segmentor and a frozen copy that labels target images (``BNStatsHook``);
    - ``track``: ``'all'`` (default) lets every train-mode pass update the running
      statistics; ``'target'``: source (and source-like) passes normalise with their own
      batch statistics but never touch the running ones, so the model is scored with
      the statistics of the domain it is scored on. This is domain-specific BN for the
      statistics only (the affine parameters stay shared); at test time it equals a
      target BN branch. Paper code: AdaptSegNet and ADVENT (so SIM and PixIntraDA, built
      on them) run source and target batches through shared BN in train mode, the
      target batch last (``'all'``; ours applies the target update last as well); CBST
      trains source and pseudo-labelled target batches through shared BN; SFDA keeps
      fake (source-like) batches out of the statistics whatever the policy
      (``update_bn_on_fake``); DAS3 sees target images only;
    - ``refresh``: ``False`` (default); ``True`` re-estimates the target statistics at
      the end of training and before every pseudo-labelling round, so labels and the
      final model use them (``BNStatsHook``, ``PseudoLabelHook``).

    The defaults are the reading behind the papers' published numbers.
    """

    def __init__(self, init: str = 'source', track: str = 'all',
                 refresh: bool = False) -> None:
        for key, value, choices in (('init', init, INIT), ('track', track, TRACK),
                                    ('refresh', refresh, (False, True))):
            if value not in choices or (key == 'refresh' and not isinstance(value, bool)):
                raise ValueError(f'bn_stats.{key} must be one of {choices}, got {value!r}')
        self.init, self.track, self.refresh = init, track, refresh

    @classmethod
    def build(cls, cfg: Optional[dict]) -> 'BNStatsPolicy':
        """The policy of ``bn_stats=dict(...)`` (None: the defaults)."""
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {'init', 'track', 'refresh'})
        if unknown:
            raise KeyError(f'bn_stats: unknown keys {unknown}; use init, track and '
                           "refresh, e.g. bn_stats=dict(init='target', track='target', "
                           'refresh=True)')
        return cls(**cfg)

    @property
    def needs_hook(self) -> bool:
        """Whether ``BNStatsHook`` must run (target initialisation or refreshes)."""
        return self.init == 'target' or self.refresh

    def source_context(self, segmentor: nn.Module) -> ContextManager:
        """Wrap a train-mode pass of ``segmentor`` on source images: with
        ``track='target'`` its running statistics are left alone."""
        if self.track == 'target':
            return frozen_bn_statistics(segmentor)
        return nullcontext()

    def __repr__(self) -> str:
        return (f'BNStatsPolicy(init={self.init!r}, track={self.track!r}, '
                f'refresh={self.refresh!r})')
