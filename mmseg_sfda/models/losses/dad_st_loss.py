"""Attention-map KL between fake-source and target features (SFDA Eq. 7)."""
from torch import Tensor

from mmseg.registry import MODELS

from ..utils.dual_attention_module import DualAttentionMaps
from .utils import BaseLoss


@MODELS.register_module()
class DADTransferLoss(BaseLoss):
    """KL between batch-mean attention maps of fake and target data (Eq. 7).

    ``KL(P_S || Q_S) + KL(P_R || Q_R)`` where

    - ``P = mean_b S~(F~s(x~_b))``: the FROZEN source model's spatial
      (resp. channel) maps on the fake batch;
    - ``Q = mean_b S(Ft(x_t,b))``: the target model's maps on the target
      batch, computed with the target features adaptively average-pooled to
      the fake feature size (``DualAttentionModule(feat, output_size=...)``)
      so that N matches;
    - the fake and target batches are NOT paired image by image (they are
      independent draws): each side is averaged over its batch first (a
      mean of row-stochastic maps is row-stochastic), so the batch sizes may
      differ;
    - every row of S (N x N) and R (C x C) is a distribution;
      ``KL(P || Q) = sum_i P[j, i] (log P[j, i] - log Q[j, i])`` is computed
      per row j and averaged over the rows, then the S and R terms are
      summed. ``log Q`` is clamped at ``log(eps)`` (softmax underflow).

    Nothing is detached: in Eq. 11 the generator minimises it through P.

    Args:
        eps (float): Floor for P and Q inside the logs. Default: 1e-8.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (tau of Eq. 11
            is ``SFDASegmentor.tau``).
        loss_name (str): Name of the loss item. Default: 'loss_dad_st'.
    """

    def __init__(self,
                 eps: float = 1e-8,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dad_st') -> None:
        super().__init__(loss_weight, loss_name)
        if not eps > 0:
            raise ValueError(f'DADTransferLoss: eps must be > 0, got {eps!r}')
        self.eps = eps

    def forward(self, fake_maps: DualAttentionMaps,
                target_maps: DualAttentionMaps, **kwargs) -> Tensor:
        """Compute Eq. 7.

        Args:
            fake_maps (DualAttentionMaps): Frozen source model on fake images.
            target_maps (DualAttentionMaps): Target model on target images
                (pooled to the fake feature size).

        Returns:
            Tensor: Scalar loss.
        """
        for name, maps in (('fake_maps', fake_maps),
                           ('target_maps', target_maps)):
            if not isinstance(maps, DualAttentionMaps):
                raise TypeError(f'DADTransferLoss: {name} must be the '
                                'DualAttentionMaps returned by '
                                f'DualAttentionModule, got {type(maps)}')
        loss = self._row_kl(fake_maps.spatial, target_maps.spatial, 'S') + \
            self._row_kl(fake_maps.channel, target_maps.channel, 'R')
        return self.loss_weight * loss

    def _row_kl(self, p: Tensor, q: Tensor, name: str) -> Tensor:
        """Mean over rows of KL(mean_b p || mean_b q)."""
        if p.shape[1:] != q.shape[1:]:
            raise ValueError(
                f'DADTransferLoss: attention maps {name} differ in size, '
                f'{tuple(p.shape[1:])} (fake) vs {tuple(q.shape[1:])} '
                '(target); pool the target feature to the fake feature size '
                'with DualAttentionModule(feat, output_size=fake_hw) and use '
                'the same channels')
        p = p.float().mean(dim=0)
        q = q.float().mean(dim=0)
        log_ratio = p.clamp_min(self.eps).log() - q.clamp_min(self.eps).log()
        return (p * log_ratio).sum(dim=-1).mean()
