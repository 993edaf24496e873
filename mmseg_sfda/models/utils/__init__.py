from .ipsm import patch_entropy, rank_easy_hard, split_patches
from .train_utils import frozen_bn_statistics, set_requires_grad

__all__ = [
    'split_patches', 'patch_entropy', 'rank_easy_hard', 'frozen_bn_statistics',
    'set_requires_grad'
]
