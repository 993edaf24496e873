"""mmseg-sfda: domain-adaptive and source-free segmentation for mmsegmentation 1.x.

Importing the package registers every component in mmseg's registries.
"""
from .utils import checkpoint_compat  # noqa: F401  (mmengine's local loader: weights_only=True)
from . import apis, datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
