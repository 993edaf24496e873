from .atomic_checkpoint_hook import AtomicCheckpointHook
from .bn_stats_hook import BNStatsHook
from .label_range_check_hook import LabelRangeCheckHook
from .non_finite_guard_hook import NonFiniteError, NonFiniteGuardHook
from .pseudo_label_hook import PseudoLabelHook
from .rng_state_hook import RNGStateHook

__all__ = [
    'AtomicCheckpointHook', 'BNStatsHook', 'LabelRangeCheckHook', 'NonFiniteError',
    'NonFiniteGuardHook', 'PseudoLabelHook', 'RNGStateHook'
]
