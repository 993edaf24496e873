"""One optimizer wrapper per sub-module (segmentor, generator, discriminator ...)."""
import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiModuleOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per named child module.

    mmengine has no constructor for several optimizers. Each entry of the config is an
    ordinary ``optim_wrapper`` config (type, optimizer, clip_grad, accumulative_counts,
    paramwise_cfg ...) for the child module of the same name, built by mmengine's
    ``DefaultOptimWrapperConstructor`` so ``paramwise_cfg`` (e.g. a 10x classifier lr)
    works per module::

        optim_wrapper = dict(
            constructor='MultiModuleOptimWrapperConstructor',
            segmentor=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=2.5e-4)),
            generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.1)))

    ``param_scheduler`` may then be a dict keyed by the same names. An entry set to
    ``None`` (e.g. ``optim_wrapper=dict(discriminator=None)`` in a child config that drops
    the discriminator) builds no wrapper.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('MultiModuleOptimWrapperConstructor: put paramwise_cfg '
                             'inside each module entry, e.g. optim_wrapper.segmentor.'
                             'paramwise_cfg, not at the top level')
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise ValueError('MultiModuleOptimWrapperConstructor needs one entry per '
                             f'module, got {optim_wrapper_cfg!r}')
        optim_wrapper_cfg = {k: v for k, v in optim_wrapper_cfg.items() if v is not None}
        if not optim_wrapper_cfg:
            raise ValueError('MultiModuleOptimWrapperConstructor: every entry is None')
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'optim_wrapper.{name} must be a dict with an '
                                 f"'optimizer' entry, got {cfg!r}")
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                children = [n for n, _ in model.named_children()]
                raise KeyError(f'optim_wrapper.{name}: {type(model).__name__} has no '
                               f'sub-module {name!r}; its sub-modules are {children}')
            cfg = copy.deepcopy(cfg)
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(module)
        return OptimWrapperDict(**wrappers)
