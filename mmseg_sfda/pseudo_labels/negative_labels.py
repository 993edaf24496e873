"""DAS3's negative pseudo labels (Eq. 6)."""
from torch import Tensor


def negative_labels(prob: Tensor, threshold: float = 0.05) -> Tensor:
    """``delta(p) = [p < lambda_neg]`` (DAS3 Eq. 6): each True marks a class the pixel
    confidently does not belong to (the loss of Eq. 7 is ``-sum delta * log(1 - p)``).

    Args:
        prob (Tensor): softmax probabilities (..., C, H, W).
        threshold (float): lambda_neg in (0, 1]. Default: 0.05 (DAS3).

    Returns:
        Tensor: bool mask of ``prob``'s shape.
    """
    if not prob.is_floating_point() or prob.dim() < 3:
        raise ValueError('negative_labels: prob must be a floating tensor (..., C, H, W), '
                         f'got {prob.dtype} {tuple(prob.shape)}')
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f'negative_labels: threshold must be in (0, 1], got {threshold!r}')
    return prob < threshold
