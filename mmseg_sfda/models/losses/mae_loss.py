"""Output discrepancy between the trained and frozen models (SFDA Eq. 5)."""
from torch import Tensor

from mmseg.registry import MODELS

from .utils import BaseLoss, check_choice

_REDUCTIONS = ('paper', 'dfad_mean')


@MODELS.register_module()
class MAELoss(BaseLoss):
    """Mean absolute error between two models' outputs on fake images (Eq. 5).

    ``pred = S(x~)`` is the trained model's output and ``target = S~(x~)``
    the frozen source copy's, both (B, C, H, W) LOGITS (as DFAD's
    ``F.l1_loss(s_logit, t_logit)``; pass probabilities if you want the
    probability-space reading, the formula is the same).

    - ``reduction='paper'`` (default, SFDA Eq. 5):
      ``E_x [ 1/C * ||S(x) - y~||_1 ]``: the L1 norm over C*H*W divided by C
      only (= sum over pixels of the mean class difference), averaged over
      the batch. Its scale grows with H*W.
    - ``reduction='dfad_mean'`` (DFAD code): mean over every element, i.e.
      the paper form divided by H*W.

    Nothing is detached: in the generator step (Eq. 11, maximised) gradients
    reach the fake images through both models; in the segmentor step (Eq. 12)
    the caller detaches the fake images and the frozen model has no grads.

    Args:
        reduction (str): 'paper' or 'dfad_mean'. Default: 'paper'.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Name of the loss item. Default: 'loss_mae'.
    """

    def __init__(self,
                 reduction: str = 'paper',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mae') -> None:
        super().__init__(loss_weight, loss_name)
        check_choice(reduction, _REDUCTIONS, 'MAELoss')
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
        """Compute Eq. 5.

        Args:
            pred (Tensor): Trained model's logits S(x~), (B, C, H, W).
            target (Tensor): Frozen model's logits y~ = S~(x~), same shape.

        Returns:
            Tensor: Scalar loss.
        """
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(
                'MAELoss expects pred and target of the same shape '
                f'(B, C, H, W), got {tuple(pred.shape)} and '
                f'{tuple(target.shape)}; resize one output to the other')
        diff = (pred.float() - target.float()).abs()
        if self.reduction == 'dfad_mean':
            loss = diff.mean()
        else:
            loss = diff.sum(dim=(1, 2, 3)).mean() / pred.shape[1]
        return self.loss_weight * loss
