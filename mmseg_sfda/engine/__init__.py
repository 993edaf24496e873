from .hooks import PseudoLabelHook
from .multi_module_optim_wrapper_constructor import MultiModuleOptimWrapperConstructor

__all__ = ['MultiModuleOptimWrapperConstructor', 'PseudoLabelHook']
