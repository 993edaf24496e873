from .ipsm import patch_entropy, rank_easy_hard, split_patches

__all__ = ['split_patches', 'patch_entropy', 'rank_easy_hard']
