"""AdaBN: re-estimate BatchNorm statistics on target images, without training.

The baseline every adaptation gain is measured against besides source-only
(Li et al., "Revisiting Batch Normalization For Practical Domain Adaptation").
"""
from typing import Iterable, List, Optional

import torch
from mmengine.utils import ProgressBar
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batch_norm_layers(model: nn.Module) -> List[_BatchNorm]:
    """All BatchNorm layers (any dimension, SyncBN included) of ``model``."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


@torch.no_grad()
def adapt_bn_statistics(model: nn.Module,
                        dataloader: Iterable,
                        max_batches: Optional[int] = None,
                        show_progress: bool = True) -> int:
    """Replace every BN layer's running mean / variance by the target batches' average.

    Statistics are reset, then accumulated as a cumulative average (``momentum=None``)
    over the forward passes of ``dataloader`` in train mode; weights are untouched.
    ``model`` is an mmseg segmentor (its data preprocessor normalises the batches).
    BN layers that the model keeps in eval mode when put in train mode (the frozen
    source copy of a :class:`DomainAdaptiveSegmentor`) are left untouched.

    Returns:
        int: the number of batches used.
    """
    was_training = model.training
    model.train()
    # layers a model keeps in eval mode under .train() (a frozen source copy) stay as
    # they are
    layers = [bn for bn in batch_norm_layers(model) if bn.training]
    if not layers:
        model.train(was_training)
        raise ValueError(f'AdaBN: {type(model).__name__} has no BatchNorm layer to adapt')
    momenta = [bn.momentum for bn in layers]
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None
    total = len(dataloader) if max_batches is None else min(max_batches, len(dataloader))
    bar = ProgressBar(total) if show_progress else None
    used = 0
    try:
        for batch in dataloader:
            if used == total:
                break
            if len(batch['inputs']) < 2:
                raise ValueError('AdaBN: batches of one image cannot be used (BatchNorm '
                                 'in train mode needs more than one value per channel, '
                                 'e.g. ASPP image pooling); set the loader batch_size >= 2')
            data = model.data_preprocessor(batch, False)
            model(data['inputs'], data['data_samples'], mode='tensor')
            used += 1
            if bar is not None:
                bar.update()
    finally:
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
        model.train(was_training)
    if used == 0:
        raise ValueError('AdaBN: the target dataloader yielded no batch')
    return used
