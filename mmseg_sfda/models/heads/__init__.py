from .deeplabv2_head import DeepLabV2Head
from .conditional_patch_discriminator import ConditionalPatchDiscriminator
from .dual_attention_module import DualAttentionMaps, DualAttentionModule
from .fake_image_generator import FakeImageGenerator

__all__ = ['DeepLabV2Head']

__all__ += [
    'ConditionalPatchDiscriminator', 'DualAttentionMaps',
    'DualAttentionModule', 'FakeImageGenerator'
]
