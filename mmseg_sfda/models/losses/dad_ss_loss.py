"""Dual attention distillation, frozen vs trained model (SFDA Eq. 6)."""
from typing import Union

from torch import Tensor

from mmseg.registry import MODELS

from ..utils.dual_attention_module import DualAttentionMaps
from .utils import BaseLoss

MapsOrTensor = Union[DualAttentionMaps, Tensor]


def _dual_map(maps: MapsOrTensor, name: str) -> Tensor:
    """Return the dual map A (B, 2C, N) from maps or a tensor."""
    dual = maps.dual if isinstance(maps, DualAttentionMaps) else maps
    if not isinstance(dual, Tensor) or dual.dim() != 3:
        shape = tuple(dual.shape) if isinstance(dual, Tensor) else type(dual)
        raise ValueError(f'DADSelfLoss: {name} must be DualAttentionMaps or '
                         f'the dual map A of shape (B, 2C, N), got {shape}')
    return dual


@MODELS.register_module()
class DADSelfLoss(BaseLoss):
    """L1 between the dual attention maps of two models on fake images (Eq. 6).

    ``E_x~ [ 1/M * ||A(F~s(x~)) - A(Fs(x~))||_1 ]`` with M the size of one
    dual map (2C * N): the mean absolute difference over every element,
    averaged over the batch (= mean over all elements). Both maps must come
    from the SAME :class:`DualAttentionModule`. Nothing is detached: the
    generator maximises it (Eq. 11), the segmentor minimises it (Eq. 12).

    Args:
        loss_weight (float): Multiplier of the loss. Default: 1.0 (beta of Eq.
            11/12 is ``SFDASegmentor.beta``).
        loss_name (str): Name of the loss item. Default: 'loss_dad_ss'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dad_ss') -> None:
        super().__init__(loss_weight, loss_name)

    def forward(self, frozen_maps: MapsOrTensor, trained_maps: MapsOrTensor,
                **kwargs) -> Tensor:
        """Compute Eq. 6.

        Args:
            frozen_maps: DAM output (or its ``dual`` A) of the frozen source
                model S~ on the fake images.
            trained_maps: DAM output (or A) of the trained model S on the
                same fake images.

        Returns:
            Tensor: Scalar loss.
        """
        frozen = _dual_map(frozen_maps, 'frozen_maps')
        trained = _dual_map(trained_maps, 'trained_maps')
        if frozen.shape != trained.shape:
            raise ValueError('DADSelfLoss: dual maps differ in shape, '
                             f'{tuple(frozen.shape)} vs {tuple(trained.shape)}'
                             '; both models must see the same fake batch and '
                             'share one DualAttentionModule')
        loss = (frozen.float() - trained.float()).abs().mean()
        return self.loss_weight * loss
