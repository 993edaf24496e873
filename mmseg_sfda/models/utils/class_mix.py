"""ClassMix of DAS3 information propagation (Eq. 10); the entropy ranking of Eq. 9 is
``mmseg_sfda.pseudo_labels.image_split``."""
from typing import Optional

import torch
from torch import Tensor


def class_mix_mask(label: Tensor,
                   ignore_index: int = 255,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """ClassMix mask ``M`` of one label map (Eq. 10).

    Picks ``ceil(n / 2)`` of the ``n`` classes present in ``label`` (the
    DACS choice, hence at least one when ``n >= 1``) uniformly without
    replacement; ``ignore_index`` is never a candidate (unlike the DACS
    code). An all-ignore map gives an all-False mask.

    Args:
        label (Tensor): Label / pseudo-label map (H, W), integer dtype.
        ignore_index (int): Label that is never picked. Default: 255.
        generator (torch.Generator, optional): Source of randomness (its
            device is used for the draw), for reproducible masks.

    Returns:
        Tensor: Bool mask (H, W), True on the pixels of the chosen classes.
    """
    if label.dim() != 2:
        raise ValueError('class_mix_mask expects a label map (H, W), got '
                         f'shape {tuple(label.shape)}')
    if label.is_floating_point() or label.dtype == torch.bool:
        raise ValueError('class_mix_mask expects an integer label map, got '
                         f'dtype {label.dtype}')
    classes = torch.unique(label)  # sorted, so the draw is reproducible
    classes = classes[classes != ignore_index]
    n = classes.numel()
    if n == 0:
        return torch.zeros_like(label, dtype=torch.bool)
    device = generator.device if generator is not None else 'cpu'
    perm = torch.randperm(n, generator=generator, device=device)
    chosen = classes[perm[:(n + 1) // 2].to(classes.device)]
    return torch.isin(label, chosen)


def class_mix(img_a: Tensor, img_b: Tensor, mask: Tensor) -> Tensor:
    """``Mix(a, b) = M * a + (1 - M) * b`` (Eq. 10), exact for any dtype.

    Args:
        img_a (Tensor): Image(s) the classes are cut from, (C, H, W) or
            (B, C, H, W).
        img_b (Tensor): Image(s) they are pasted onto, same shape.
        mask (Tensor): ``M`` of :func:`class_mix_mask`, (H, W), or
            (B, H, W) / (B, 1, H, W) for batched images.

    Returns:
        Tensor: Mixed image(s), shape and dtype of ``img_a``.
    """
    if img_a.shape != img_b.shape or img_a.dim() not in (3, 4):
        raise ValueError(
            'class_mix expects two images of one shape (C, H, W) or '
            f'(B, C, H, W), got {tuple(img_a.shape)} and '
            f'{tuple(img_b.shape)}')
    mask = mask.bool()
    if mask.dim() == 2:  # one mask for every image
        mask = mask.view(*([1] * (img_a.dim() - 2)), *mask.shape)
    elif img_a.dim() == 4 and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    ok = (mask.dim() == img_a.dim() and mask.shape[-3] == 1
          and mask.shape[-2:] == img_a.shape[-2:]
          and (img_a.dim() == 3 or mask.shape[0] in (1, img_a.shape[0])))
    if not ok:
        raise ValueError(f'class_mix: mask shape does not match the images '
                         f'{tuple(img_a.shape)}; expected (H, W) or '
                         f'(B, [1,] H, W), got {tuple(mask.shape)}')
    return torch.where(mask, img_a, img_b)
