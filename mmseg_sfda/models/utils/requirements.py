"""What an adaptation method needs of the mmseg segmentor it wraps.

Each method class declares its needs (``requirements``, a tuple of :class:`Requirement`)
and checks them when it is built, so a segmentor that lacks one gives one error naming
the requirement, what was found and the fix (docs/mixing.md lists them per method).
"""
from collections import Counter
from typing import Dict, NamedTuple, Optional, Sequence

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class Requirement(NamedTuple):
    """One need of a method.

    Attributes:
        name (str): short key (``'batch_norm'``, ``'auxiliary_head'`` ...).
        needs (str): what the segmentor must offer, and why.
        fix (str): how to meet it (or what to use instead).
    """
    name: str
    needs: str
    fix: str


def find_requirement(requirements: Sequence[Requirement], name: str) -> Requirement:
    """The requirement called ``name`` (a KeyError naming the declared ones otherwise)."""
    for requirement in requirements:
        if requirement.name == name:
            return requirement
    raise KeyError(f'no requirement {name!r}; declared: '
                   f'{[r.name for r in requirements]}')


def requirement_error(method: str, requirement: Requirement, found: str) -> ValueError:
    """The one error of an unmet requirement: what is needed, what was found, the fix."""
    return ValueError(f'{method} needs {requirement.needs} [{requirement.name}]; '
                      f'{found}. Fix: {requirement.fix}')


def norm_layer_counts(module: nn.Module) -> Dict[str, int]:
    """Number of normalisation layers of ``module`` by kind: ``'BatchNorm'`` (with
    running statistics; SyncBN included), ``'LayerNorm'``, ``'GroupNorm'`` and
    ``'other'`` (instance norm, BN without running statistics)."""
    counts: Counter = Counter()
    for layer in module.modules():
        if isinstance(layer, _BatchNorm):
            counts['BatchNorm' if layer.track_running_stats else 'other'] += 1
        elif isinstance(layer, nn.LayerNorm):
            counts['LayerNorm'] += 1
        elif isinstance(layer, nn.GroupNorm):
            counts['GroupNorm'] += 1
        elif isinstance(layer, nn.modules.instancenorm._InstanceNorm):
            counts['other'] += 1
    return dict(counts)


def describe_counts(counts: Dict[str, int]) -> str:
    """``'12 LayerNorm, 5 GroupNorm'`` (``'no normalisation layer'`` when empty)."""
    parts = [f'{n} {kind}' for kind, n in sorted(counts.items()) if n]
    return ', '.join(parts) if parts else 'no normalisation layer'


def num_backbone_outputs(segmentor: nn.Module) -> Optional[int]:
    """How many feature maps ``extract_feat`` returns, when the config tells it (a
    backbone with ``out_indices`` and no neck); None when unknown."""
    if getattr(segmentor, 'with_neck', False):
        return None
    out_indices = getattr(getattr(segmentor, 'backbone', None), 'out_indices', None)
    if isinstance(out_indices, int):
        return 1
    if isinstance(out_indices, (list, tuple)):
        return len(out_indices)
    return None
