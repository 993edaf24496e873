"""Small helpers shared by the adaptation segmentors' ``train_step``s."""
from contextlib import contextmanager
from typing import Iterator

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    """Switch gradients of every parameter of ``module`` on or off."""
    for param in module.parameters():
        param.requires_grad_(flag)


@contextmanager
def frozen_bn_statistics(module: nn.Module) -> Iterator[None]:
    """BN layers normalise with batch statistics but keep their running ones.

    Inside the context every BatchNorm's momentum is 0, so a forward in train mode
    leaves ``running_mean`` / ``running_var`` unchanged (e.g. for generated images,
    so the running statistics stay those of the target domain); the
    ``num_batches_tracked`` counters are restored on exit.
    """
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [(bn.momentum, None if bn.num_batches_tracked is None else
              bn.num_batches_tracked.clone()) for bn in layers]
    for bn in layers:
        bn.momentum = 0.0
    try:
        yield
    finally:
        for bn, (momentum, tracked) in zip(layers, saved):
            bn.momentum = momentum
            if tracked is not None:
                bn.num_batches_tracked.copy_(tracked)
