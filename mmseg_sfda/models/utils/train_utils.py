"""Small helpers shared by the adaptation segmentors' ``train_step``s."""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple

import torch
from torch import Tensor, nn
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
    with frozen_bn_statistics_of(
            [m for m in module.modules() if isinstance(m, _BatchNorm)]):
        yield


@contextmanager
def frozen_bn_statistics_of(layers: Sequence[_BatchNorm]) -> Iterator[None]:
    """:func:`frozen_bn_statistics` for a list of BN layers."""
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


@contextmanager
def parameters_frozen(module: nn.Module) -> Iterator[None]:
    """Switch gradients of ``module``'s parameters off; restore each one's own flag
    on exit (a parameter a config froze stays frozen)."""
    params = list(module.parameters())
    flags = [p.requires_grad for p in params]
    for param in params:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param, flag in zip(params, flags):
            param.requires_grad_(flag)


class DeferredBNUpdate:
    """Record the running-statistics update of some train-mode passes; apply it later.

    Inside :meth:`record` the BN layers of ``module`` normalise with batch statistics as
    usual but do not touch their running statistics (momentum 0); forward pre-hooks keep
    each layer's batch mean and unbiased variance (as PyTorch's BN folds them in). A later
    :meth:`apply` folds them into the running statistics, one update per recorded pass,
    in order, with each layer's own momentum. So a method whose passes must run in one
    order (e.g. target, then source, for DDP) can update the statistics in another (the
    target batch last, as AdaptSegNet's code does). The statistics are those of the local
    batch (SyncBN would all-reduce them; under DDP the buffers of rank 0 are broadcast).
    Call :meth:`apply` after the backward pass: the BN backward reads the buffers, which
    must not have been changed in place since the forward.
    """

    def __init__(self, module: nn.Module) -> None:
        self.layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
        self.recorded: List[List[Tuple[Tensor, Tensor]]] = []

    @contextmanager
    def record(self) -> Iterator[None]:
        stats: Dict[int, Tuple[Tensor, Tensor]] = {}

        def keep(index: int):
            def hook(bn: _BatchNorm, args) -> None:
                if bn.training and bn.track_running_stats and index not in stats:
                    x = args[0].detach()
                    dims = [0] + list(range(2, x.dim()))
                    n = x.numel() // x.shape[1]
                    var = x.var(dim=dims, unbiased=False) * (n / max(n - 1, 1))
                    stats[index] = (x.mean(dim=dims), var)
            return hook

        handles = [bn.register_forward_pre_hook(keep(i)) for i, bn in enumerate(self.layers)]
        try:
            with frozen_bn_statistics_of(self.layers):
                yield
        finally:
            for handle in handles:
                handle.remove()
        self.recorded.append([stats.get(i) for i in range(len(self.layers))])

    @torch.no_grad()
    def apply(self) -> None:
        """Fold the recorded batch statistics into the running ones, in order."""
        for stats in self.recorded:
            for bn, stat in zip(self.layers, stats):
                if stat is None:
                    continue
                mean, var = stat
                if bn.num_batches_tracked is not None:
                    bn.num_batches_tracked.add_(1)
                momentum = bn.momentum
                if momentum is None:  # cumulative moving average
                    momentum = 1.0 / float(bn.num_batches_tracked)
                bn.running_mean.mul_(1 - momentum).add_(mean.to(bn.running_mean), alpha=momentum)
                bn.running_var.mul_(1 - momentum).add_(var.to(bn.running_var), alpha=momentum)
        self.recorded = []


@contextmanager
def borrowed_bn_statistics(module: nn.Module, donor: nn.Module) -> Iterator[None]:
    """BN layers of ``module`` normalise in eval mode with the running statistics of the
    same-named BN layers of ``donor``; buffers and modes are restored on exit.

    The buffers are swapped by reference (nothing is written in place), so a backward
    after the context is safe. SFDA uses it to score fake (source-like) images with the
    trained segmentor exactly as the frozen source copy scores them.
    """
    donor_layers = {name: m for name, m in donor.named_modules() if isinstance(m, _BatchNorm)}
    saved = []
    try:
        for name, bn in module.named_modules():
            if not isinstance(bn, _BatchNorm):
                continue
            other = donor_layers.get(name)
            if other is None or other.running_mean is None or bn.running_mean is None:
                raise KeyError(f'borrowed_bn_statistics: BatchNorm layer {name!r} has no '
                               'running statistics in both models (the frozen copy must '
                               'be built from the same segmentor config)')
            saved.append((bn, bn.training, bn.running_mean, bn.running_var))
            bn.eval()
            bn.running_mean, bn.running_var = other.running_mean, other.running_var
        yield
    finally:
        for bn, mode, mean, var in saved:
            bn.running_mean, bn.running_var = mean, var
            bn.train(mode)
