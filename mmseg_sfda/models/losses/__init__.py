from .adversarial_loss import AdversarialLoss
from .bns_loss import BNSLoss
from .continuous_index_loss import ContinuousIndexLoss
from .dad_ss_loss import DADSelfLoss
from .dad_st_loss import DADTransferLoss
from .entropy_loss import EntropyLoss
from .focal_entropy_loss import FocalEntropyLoss
from .instance_matching_loss import InstanceMatchingLoss
from .kld_regularization_loss import KLDRegularizationLoss
from .mae_loss import MAELoss
from .max_square_loss import MaxSquareLoss
from .negative_pseudo_label_loss import NegativePseudoLabelLoss
from .patch_adversarial_loss import PatchAdversarialLoss
from .stuff_matching_loss import StuffMatchingLoss
from .weighted_diversity_loss import WeightedDiversityLoss

__all__ = [
    'AdversarialLoss', 'BNSLoss', 'ContinuousIndexLoss', 'DADSelfLoss', 'DADTransferLoss',
    'EntropyLoss', 'FocalEntropyLoss', 'InstanceMatchingLoss', 'KLDRegularizationLoss',
    'MAELoss', 'MaxSquareLoss', 'NegativePseudoLabelLoss', 'PatchAdversarialLoss',
    'StuffMatchingLoss', 'WeightedDiversityLoss'
]
