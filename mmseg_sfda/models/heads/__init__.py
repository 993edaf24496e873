from .conditional_patch_discriminator import ConditionalPatchDiscriminator
from .deeplabv2_head import DeepLabV2Head
from .dual_attention_module import DualAttentionMaps, DualAttentionModule
from .fake_image_generator import FakeImageGenerator
from .fc_discriminator import FCDiscriminator
from .feature_memory_bank import FeatureMemoryBank

__all__ = [
    'ConditionalPatchDiscriminator', 'DeepLabV2Head', 'DualAttentionMaps',
    'DualAttentionModule', 'FakeImageGenerator', 'FCDiscriminator', 'FeatureMemoryBank'
]
