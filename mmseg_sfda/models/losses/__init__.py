from .bns_loss import BNSLoss
from .dad_ss_loss import DADSelfLoss
from .dad_st_loss import DADTransferLoss
from .mae_loss import MAELoss
from .max_square_loss import MaxSquareLoss
from .patch_adversarial_loss import PatchAdversarialLoss

__all__ = [
    'BNSLoss', 'DADSelfLoss', 'DADTransferLoss', 'MAELoss', 'MaxSquareLoss',
    'PatchAdversarialLoss'
]
