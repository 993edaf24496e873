"""DAS3's entropy ranking of the target images into easy and hard (Eq. 9)."""
import math
from typing import Dict, Iterable, Tuple

from torch import Tensor


def image_entropy(prob: Tensor) -> float:
    """Mean pixel entropy ``r(x_t)`` of one image (Eq. 9), divided by ``log C`` (in
    [0, 1]; the ranking is the same either way). ``prob``: softmax (1, C, H, W)."""
    if prob.dim() != 4 or prob.shape[1] < 2:
        raise ValueError('image_entropy expects probabilities (1, C, H, W) with C >= 2, '
                         f'got shape {tuple(prob.shape)}')
    return float(-(prob * prob.clamp(min=1e-12).log()).sum(dim=1).mean() /
                 math.log(prob.shape[1]))


def easy_split(entropies: Iterable[Tuple[str, float]],
               easy_portion: float = 0.3) -> Dict[str, bool]:
    """Rank the images by entropy (ties by name): the ``int(N * easy_portion)`` lowest
    are easy (Sec. 3.3, ratio = 0.3; IntraDA's ``int(N * lambda)``).

    Args:
        entropies: (stem, entropy) pairs; a repeated stem counts once.
        easy_portion (float): the paper's ``ratio``, in [0, 1]. Default: 0.3.

    Returns:
        dict: stem -> easy?
    """
    if not 0. <= easy_portion <= 1.:
        raise ValueError(f'easy_split: easy_portion must be in [0, 1], got {easy_portion!r}')
    ranked = sorted(dict(entropies).items(), key=lambda kv: (kv[1], kv[0]))
    num_easy = int(len(ranked) * easy_portion)
    return {stem: i < num_easy for i, (stem, _) in enumerate(ranked)}
