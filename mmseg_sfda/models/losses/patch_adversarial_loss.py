"""Easy/hard patch adversarial loss of IPSM (SFDA Eq. 15)."""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice

_MODES = ('discriminator', 'generator')
_REDUCTIONS = ('sum', 'mean')


@MODELS.register_module()
class PatchAdversarialLoss(BaseLoss):
    """BCE-with-logits form of Eq. 15 on discriminator patch logits.

    Convention (README): the discriminator learns easy -> 0, hard -> 1.

    - ``mode='discriminator'``: BCE of every patch logit against 0 (easy)
      or 1 (hard); the D step.
    - ``mode='generator'``: BCE of the HARD patch logits against 0 (look
      easy); easy patches are not used; the segmentor step (Eq. 16).

    Reduction: ``'sum'`` (default) is Eq. 15 as written: the sum over the
    K*K positions and the B/2 (easy, hard) pairs, i.e. every patch term
    counted once, so its scale grows with B*K^2. ``'mean'`` averages over the
    terms used (AdaptSegNet / IntraDA code convention); the two differ by a
    constant that interacts with gamma (``SFDASegmentor.gamma``).

    Args:
        reduction (str): 'sum' or 'mean'. Default: 'sum'.
        loss_weight (float): Multiplier of the loss. Default: 1.0 (gamma of Eq. 16
            is ``SFDASegmentor.gamma``).
        loss_name (str): Name of the loss item. Default: 'loss_adv'.
    """

    def __init__(self,
                 reduction: str = 'sum',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_adv') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'PatchAdversarialLoss')
        self.reduction = reduction

    def forward(self,
                logits: Tensor,
                easy_mask: Tensor,
                mode: str = 'discriminator',
                **kwargs) -> Tensor:
        """Compute Eq. 15.

        Args:
            logits (Tensor): Discriminator logits, one per patch, e.g.
                (B, K*K) or flattened (B*K*K,).
            easy_mask (Tensor): Boolean mask of the same shape, True for easy
                patches (see ``rank_easy_hard``).
            mode (str): 'discriminator' or 'generator'.

        Returns:
            Tensor: Scalar loss.
        """
        check_choice(mode, _MODES, 'PatchAdversarialLoss', 'mode')
        if easy_mask.dtype != torch.bool or easy_mask.shape != logits.shape:
            raise ValueError(
                'PatchAdversarialLoss: easy_mask must be a bool tensor shaped '
                f'like logits {tuple(logits.shape)}, got {easy_mask.dtype} '
                f'{tuple(easy_mask.shape)}')
        logits = logits.float()
        if mode == 'discriminator':
            target = (~easy_mask).to(logits.dtype)
        else:
            if easy_mask.all():  # no hard patch: nothing to fool with
                return logits.sum() * 0.
            logits = logits[~easy_mask]
            target = logits.new_zeros(logits.shape)
        loss = F.binary_cross_entropy_with_logits(
            logits, target, reduction=self.reduction)
        return self.loss_weight * loss
