from .hooks import BNStatsHook, PseudoLabelHook
from .multi_module_optim_wrapper_constructor import MultiModuleOptimWrapperConstructor

__all__ = ['BNStatsHook', 'MultiModuleOptimWrapperConstructor', 'PseudoLabelHook']
