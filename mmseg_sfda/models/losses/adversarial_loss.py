"""BCE adversarial loss on discriminator maps (AdaptSegNet, PixIntraDA)."""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice

_REDUCTIONS = ('mean', 'weighted_mean', 'sum', 'log_of_sums')


@MODELS.register_module()
class AdversarialLoss(BaseLoss):
    """BCE-with-logits of discriminator outputs against a domain label.

    ``target`` is a constant (a float, or ``'source'`` / ``'target'`` for
    ``source_label`` / ``target_label``; AdaptSegNet / AdvEnt: D learns
    source -> 0, target -> 1, and the segmentor step labels target outputs
    ``'source'``) or a per-pixel tensor, e.g. PixIntraDA's hard mask M
    (Eq. 2, hard = 1; detached). ``weight`` multiplies each pixel's term.
    Tensor targets and weights of another size are resized to the output's
    with nearest interpolation.

    PixIntraDA Eq. 6 (D learns easy -> 0, hard -> 1; G makes hard look easy):
    D step ``loss(d, target=M)``; G step ``loss(d, target=0., weight=M)``.

    Reduction:

    - ``'mean'`` (default; the per-pixel BCE reading of Eq. 6 and
      AdaptSegNet / AdvEnt's ``BCEWithLogitsLoss``): mean over all
      elements of ``w * bce``.
    - ``'weighted_mean'``: ``sum(w * bce) / sum(w)``, e.g. the G step of
      Eq. 6 averaged over hard pixels only.
    - ``'sum'``: ``sum(w * bce)``.
    - ``'log_of_sums'``: Eq. 6 as literally written, per image
      ``-log sum(w t sigmoid(x)) - log sum(w (1 - t) (1 - sigmoid(x)))``
      (a term whose weight ``sum(w t)`` resp. ``sum(w (1 - t))`` is 0 is
      dropped; sums clamped to >= 1e-12), averaged over the batch.

    Args:
        source_label (float): Label of ``target='source'``. Default: 0.
        target_label (float): Label of ``target='target'``. Default: 1.
        reduction (str): See above. Default: 'mean'.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (the adversarial
            weight lambda_adv is the segmentor's ``lambda_adv_main`` / ``_aux``).
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Default: 'loss_adv'.
    """

    def __init__(self,
                 source_label: float = 0.,
                 target_label: float = 1.,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_adv') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'AdversarialLoss')
        self.source_label = float(source_label)
        self.target_label = float(target_label)
        self.reduction = reduction

    def forward(self,
                logits: Tensor,
                target: Union[float, str, Tensor] = 'target',
                weight: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): Discriminator logits (B, K, h, w) (K = 1 for
                ``FCDiscriminator``).
            target (float | str | Tensor): Constant label, 'source' /
                'target', or per-pixel labels (B, H, W) / (B, 1, H, W)
                (bool or float in [0, 1]). Default: 'target'.
            weight (Tensor, optional): Per-pixel weight or mask (B, H, W) /
                (B, 1, H, W).

        Returns:
            Tensor: Scalar loss.
        """
        if logits.dim() != 4:
            raise ValueError('AdversarialLoss expects discriminator logits '
                             f'(B, K, h, w), got {tuple(logits.shape)}')
        logits = logits.float()
        t = self._target_tensor(logits, target)
        w = None if weight is None else self._per_pixel(
            weight, logits, 'weight')
        if self.reduction == 'log_of_sums':
            loss = self._log_of_sums(logits, t, w)
        else:
            bce = F.binary_cross_entropy_with_logits(
                logits, t.expand_as(logits), reduction='none')
            if w is not None:
                bce = bce * w
            if self.reduction == 'mean':
                loss = bce.mean()
            elif self.reduction == 'sum':
                loss = bce.sum()
            else:
                total = (w.expand_as(logits).sum()
                         if w is not None else logits.new_tensor(
                             float(logits.numel())))
                if total <= 0:
                    return bce.sum() * 0.
                loss = bce.sum() / total
        return self.loss_weight * loss

    def _target_tensor(self, logits: Tensor,
                       target: Union[float, str, Tensor]) -> Tensor:
        """Turn ``target`` into a tensor broadcastable to ``logits``."""
        if isinstance(target, str):
            if target not in ('source', 'target'):
                raise ValueError("AdversarialLoss: a string target must be "
                                 f"'source' or 'target', got {target!r}")
            target = (self.source_label
                      if target == 'source' else self.target_label)
        if isinstance(target, Tensor):
            return self._per_pixel(target.detach(), logits, 'target')
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise ValueError('AdversarialLoss: target must be a number, '
                             "'source', 'target' or a tensor, got "
                             f'{target!r}')
        return logits.new_full((1, 1, 1, 1), float(target))

    @staticmethod
    def _per_pixel(x: Tensor, logits: Tensor, name: str) -> Tensor:
        """(B, H, W) / (B, 1, H, W) -> float (B, 1, h, w) at logits' size."""
        if x.dim() == 3:
            x = x[:, None]
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[0] != logits.shape[0]:
            raise ValueError(
                f'AdversarialLoss: {name} must be per pixel, (B, H, W) or '
                f'(B, 1, H, W) with B={logits.shape[0]}, got '
                f'{tuple(x.shape)}')
        x = x.to(device=logits.device, dtype=logits.dtype)
        if x.shape[2:] != logits.shape[2:]:
            x = F.interpolate(x, size=logits.shape[2:], mode='nearest')
        return x

    @staticmethod
    def _log_of_sums(logits: Tensor, t: Tensor,
                     w: Optional[Tensor]) -> Tensor:
        """Eq. 6 literally: -log sum(D o M) - log sum((J - D) o (J - M))."""
        t = t.expand_as(logits)
        w = torch.ones_like(logits) if w is None else w.expand_as(logits)
        loss = logits.sum() * 0.
        for label_w, score in ((w * t, torch.sigmoid(logits)),
                               (w * (1. - t), torch.sigmoid(-logits))):
            present = label_w.flatten(1).sum(1) > 0
            if present.any():
                sums = (label_w * score).flatten(1).sum(1)[present]
                loss = loss - sums.clamp_min(1e-12).log().sum()
        return loss / logits.shape[0]
