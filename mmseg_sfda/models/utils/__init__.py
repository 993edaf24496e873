from .class_mix import class_mix, class_mix_mask
from .dual_attention_module import DualAttentionMaps, DualAttentionModule
from .entropy import self_information_map
from .feature_memory_bank import FeatureMemoryBank
from .instances import (classifier_agrees, correct_label_map, extract_instances,
                        masked_mean_features)
from .ipsm import patch_entropy, rank_easy_hard, split_patches
from .train_utils import (DeferredBNUpdate, borrowed_bn_statistics, frozen_bn_statistics,
                          parameters_frozen, set_requires_grad)

__all__ = [
    'class_mix', 'class_mix_mask', 'self_information_map', 'classifier_agrees',
    'correct_label_map', 'extract_instances', 'masked_mean_features', 'split_patches',
    'patch_entropy', 'rank_easy_hard', 'frozen_bn_statistics', 'set_requires_grad',
    'parameters_frozen', 'borrowed_bn_statistics', 'DeferredBNUpdate',
    'DualAttentionMaps', 'DualAttentionModule', 'FeatureMemoryBank'
]
