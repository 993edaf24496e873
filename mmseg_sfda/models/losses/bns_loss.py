"""Batch-normalisation-statistics (BNS) constraint of SFDA (Eq. 4)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.hooks import RemovableHandle

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice

_NORMS = ('squared', 'l2')


@MODELS.register_module()
class BNSLoss(BaseLoss):
    """Match the BN statistics of fake images to a frozen model's (Eq. 4).

    ``attach(model)`` puts a forward pre-hook on every BatchNorm layer
    (``torch.nn.modules.batchnorm._BatchNorm`` with running statistics, which
    includes ``SyncBatchNorm``) of the frozen source copy. Each hook records
    the batch mean and biased variance (per channel, over all but the channel
    dim) of the layer's INPUT, keeping the graph so gradients reach the
    images (and the generator). ``forward()`` then returns

    - ``norm='squared'`` (default, SFDA Eq. 4):
      ``sum_l ||mu_l - running_mean_l||_2^2 + ||var_l - running_var_l||_2^2``
    - ``norm='l2'`` (DeepInversion's ``DeepInversionFeatureHook``):
      ``sum_l ||mu_l - running_mean_l||_2 + ||var_l - running_var_l||_2``

    computed from the last recorded forward (one record per layer; a later
    forward overwrites), and clears the records. The hooks never write to the
    model, so its parameters and buffers are untouched; the frozen copy must
    be in eval mode (a BN layer in training mode raises, since it would
    update its running statistics). Attach after making the frozen copy
    (``copy.deepcopy`` of a hooked model also copies the hooks), and again
    when layers are replaced (mmengine's ``revert_sync_batchnorm`` swaps
    SyncBN for new BN modules without the hooks): ``is_attached_to`` tells.

    Args:
        norm (str): 'squared' (paper) or 'l2' (DeepInversion).
            Default: 'squared'.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item. Default: 'loss_bns'.
    """

    def __init__(self,
                 norm: str = 'squared',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bns') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(norm, _NORMS, 'BNSLoss', 'norm')
        self.norm = norm
        self._handles: List[RemovableHandle] = []
        self._layers: List[_BatchNorm] = []
        self._records: Dict[str, Tuple[Tensor, Tensor, _BatchNorm]] = {}

    @property
    def num_hooked_layers(self) -> int:
        """Number of BatchNorm layers currently hooked."""
        return len(self._handles)

    @staticmethod
    def batch_norm_layers(module: nn.Module) -> List[Tuple[str, _BatchNorm]]:
        """``(name, layer)`` of the BatchNorm layers with running statistics."""
        return [(name, m) for name, m in module.named_modules()
                if isinstance(m, _BatchNorm) and m.track_running_stats]

    def is_attached_to(self, module: nn.Module) -> bool:
        """Whether the hooks sit on exactly the current BN layers of ``module``."""
        current = [layer for _, layer in self.batch_norm_layers(module)]
        return len(current) == len(self._layers) and all(
            a is b for a, b in zip(current, self._layers))

    def attach(self, module: nn.Module) -> 'BNSLoss':
        """Hook every BatchNorm layer of ``module`` (replacing old hooks).

        Raises:
            ValueError: If ``module`` has no BatchNorm layer with running
                statistics (the loss would silently be zero).
        """
        if not isinstance(module, nn.Module):
            raise TypeError('BNSLoss.attach expects an nn.Module, got '
                            f'{type(module).__name__}')
        layers = self.batch_norm_layers(module)
        if not layers:
            raise ValueError(
                f'BNSLoss: {type(module).__name__} has no BatchNorm layer '
                'with running statistics; Eq. 4 needs a source model with BN '
                '(track_running_stats=True) to constrain the fake images')
        self.detach()
        for name, layer in layers:
            self._handles.append(
                layer.register_forward_pre_hook(self._make_hook(name)))
            self._layers.append(layer)
        return self

    def detach(self) -> None:
        """Remove all hooks and clear the records."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._layers = []
        self.clear()

    def clear(self) -> None:
        """Drop the recorded statistics (and their graphs)."""
        self._records = {}

    def _make_hook(self, name: str):
        """Build the pre-hook recording the input statistics of ``name``."""

        def hook(layer: _BatchNorm, inputs: Tuple[Tensor, ...]) -> None:
            if layer.training:
                raise RuntimeError(
                    f'BNSLoss: BatchNorm layer {name!r} is in training mode '
                    'and would update its running statistics; put the frozen '
                    'source model in eval mode (model.eval())')
            x = inputs[0].float()
            dims = [0] + list(range(2, x.dim()))
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            self._records[name] = (mean, var, layer)

        return hook

    def _distance(self, diff: Tensor) -> Tensor:
        """Squared L2 (paper) or plain L2 (DeepInversion) of ``diff``."""
        if self.norm == 'squared':
            return diff.pow(2).sum()
        return torch.linalg.vector_norm(diff)

    def forward(self, *args, **kwargs) -> Tensor:
        """Eq. 4 from the last recorded forward; clears the records.

        Arguments are accepted and ignored (the statistics come from the
        hooks), so this can be called like other mmseg losses.
        """
        if not self._handles:
            raise RuntimeError('BNSLoss: no model attached; call '
                               'bns_loss.attach(frozen_source_model) first')
        if not self._records:
            raise RuntimeError(
                'BNSLoss: no statistics recorded; run the attached frozen '
                'model on the fake images before calling the loss')
        loss: Optional[Tensor] = None
        for mean, var, layer in self._records.values():
            term = self._distance(mean - layer.running_mean.float()) + \
                self._distance(var - layer.running_var.float())
            loss = term if loss is None else loss + term
        self.clear()
        return self.loss_weight * loss
