from .conditional_patch_discriminator import ConditionalPatchDiscriminator
from .fc_discriminator import FCDiscriminator

__all__ = ['ConditionalPatchDiscriminator', 'FCDiscriminator']
