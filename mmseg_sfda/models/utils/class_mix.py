"""ClassMix and entropy ranking of DAS3 information propagation (Eq. 9-10)."""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
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


def class_mix_masks(labels: Tensor,
                    ignore_index: int = 255,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    """:func:`class_mix_mask` of every map of a batch.

    Args:
        labels (Tensor): (B, H, W) or (B, 1, H, W) integer label maps.
        ignore_index (int): Label that is never picked. Default: 255.
        generator (torch.Generator, optional): Shared by the B draws.

    Returns:
        Tensor: Bool masks (B, H, W).
    """
    labels = _squeeze_label(labels, 'class_mix_masks')
    if labels.dim() != 3:
        raise ValueError('class_mix_masks expects labels (B, H, W), got '
                         f'shape {tuple(labels.shape)}')
    return torch.stack([
        class_mix_mask(lab, ignore_index, generator) for lab in labels
    ])


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


def mix_labels(label_a: Tensor, label_b: Tensor, mask: Tensor) -> Tensor:
    """Mixed target ``M * y_a + (1 - M) * y_b`` (Eq. 10, DACS form).

    Each pixel takes its label from the image it was taken from, so it is
    ignore only where that source pixel was ignore (``M`` built from
    ``label_a`` never covers ignore pixels of ``label_a``).

    Args:
        label_a (Tensor): Labels of the cut image, (H, W), (B, H, W) or
            (B, 1, H, W).
        label_b (Tensor): Labels of the pasted-onto image, same shape.
        mask (Tensor): ``M``, (H, W) or (B, H, W) / (B, 1, H, W).

    Returns:
        Tensor: Mixed labels, shape of ``label_a``.
    """
    if label_a.shape != label_b.shape or label_a.dim() not in (2, 3, 4):
        raise ValueError(
            'mix_labels expects two label maps of one shape (H, W), '
            f'(B, H, W) or (B, 1, H, W), got {tuple(label_a.shape)} and '
            f'{tuple(label_b.shape)}')
    mask = mask.bool()
    if label_a.dim() == 4 and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    elif label_a.dim() == 3 and mask.dim() == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if (label_a.dim() == 4 and label_a.shape[1] != 1) or tuple(
            mask.shape) not in (tuple(label_a.shape),
                                tuple(label_a.shape[-2:])):
        raise ValueError(f'mix_labels: mask shape does not match the labels '
                         f'{tuple(label_a.shape)}; got {tuple(mask.shape)}')
    return torch.where(mask, label_a, label_b)


def class_mix_batch(
    imgs: Tensor,
    labels: Tensor,
    ignore_index: int = 255,
    generator: Optional[torch.Generator] = None,
    shift: int = 1,
) -> Tuple[Tensor, Tensor, Tensor]:
    """ClassMix a batch with itself: image i onto image ``(i + shift) % B``.

    ``M_i`` comes from ``labels[i]`` (the classes of ``x^i``), and
    ``mixed[i] = Mix(x^i, x^j)``, ``j = (i + shift) % B``. The returned
    mixed labels are the DACS target; Eq. 10 instead labels the mixed image
    with the gradient-free model's prediction ``M'_t(Mix(x^i, x^j))``, which
    the caller computes from ``mixed_imgs``.

    Args:
        imgs (Tensor): (B, C, H, W) images, B >= 2.
        labels (Tensor): (B, H, W) or (B, 1, H, W) (pseudo-)labels.
        ignore_index (int): Never chosen as a class. Default: 255.
        generator (torch.Generator, optional): For reproducible masks.
        shift (int): Partner offset, not a multiple of B. Default: 1.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``mixed_imgs`` (B, C, H, W),
        ``mixed_labels`` (labels' shape), ``masks`` (B, H, W) bool.
    """
    if imgs.dim() != 4:
        raise ValueError('class_mix_batch expects images (B, C, H, W), got '
                         f'shape {tuple(imgs.shape)}')
    b = imgs.shape[0]
    if b < 2 or shift % b == 0:
        raise ValueError(f'class_mix_batch: needs B >= 2 images and a shift '
                         f'that is not a multiple of B, got B={b}, '
                         f'shift={shift}')
    lab = _squeeze_label(labels, 'class_mix_batch')
    if lab.shape != (b, *imgs.shape[-2:]):
        raise ValueError(f'class_mix_batch: labels {tuple(labels.shape)} do '
                         f'not match images {tuple(imgs.shape)}')
    masks = class_mix_masks(lab, ignore_index, generator)
    partner = torch.roll(torch.arange(b, device=imgs.device), -shift)
    mixed_imgs = class_mix(imgs, imgs[partner], masks)
    mixed_labels = mix_labels(labels, labels[partner], masks)
    return mixed_imgs, mixed_labels, masks


def image_entropy(logits: Tensor, normalize: bool = True) -> Tensor:
    """Mean pixel entropy ``r(x_t)`` of each image (Eq. 9).

    Args:
        logits (Tensor): (B, C, H, W); softmax is taken over C.
        normalize (bool): Divide the entropy by ``log C`` (to [0, 1]), as
            for Eq. 2; the ranking is the same either way. Default: True.

    Returns:
        Tensor: (B,) float entropies.
    """
    if logits.dim() != 4:
        raise ValueError('image_entropy expects logits (B, C, H, W), got '
                         f'shape {tuple(logits.shape)}')
    c = logits.shape[1]
    if normalize and c < 2:
        raise ValueError(f'image_entropy: normalize needs C >= 2, got C={c}')
    log_p = F.log_softmax(logits.float(), dim=1)
    ent = -(log_p.exp() * log_p).sum(dim=1).mean(dim=(1, 2))
    return ent / math.log(c) if normalize else ent


def split_easy_hard(entropies: Tensor,
                    easy_portion: float = 0.3) -> Tuple[Tensor, Tensor]:
    """Entropy ranking into easy / hard splits (Sec. 3.3, ratio = 0.3).

    The ``floor(easy_portion * N)`` images with the lowest entropy are easy
    (IntraDA's ``int(N * lambda)``), the rest hard. Ties go by index (stable
    sort: earlier = easier).

    Args:
        entropies (Tensor): (N,) image entropies, e.g. :func:`image_entropy`.
        easy_portion (float): The paper's ``ratio``. Default: 0.3.

    Returns:
        tuple[Tensor, Tensor]: Long index tensors ``(easy, hard)``, each in
        rank order (easiest first); together a permutation of ``0..N-1``.
    """
    if entropies.dim() != 1:
        raise ValueError('split_easy_hard expects entropies of shape (N,), '
                         f'got {tuple(entropies.shape)}')
    if not 0. <= easy_portion <= 1.:
        raise ValueError('split_easy_hard: easy_portion must be in [0, 1], '
                         f'got {easy_portion!r}')
    n = entropies.numel()
    n_easy = min(n, int(math.floor(easy_portion * n + 1e-9)))
    order = torch.sort(entropies, stable=True).indices
    return order[:n_easy], order[n_easy:]


def _squeeze_label(labels: Tensor, name: str) -> Tensor:
    """(B, 1, H, W) -> (B, H, W); other shapes unchanged."""
    if labels.dim() == 4:
        if labels.shape[1] != 1:
            raise ValueError(f'{name}: labels must be (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(labels.shape)}')
        return labels[:, 0]
    return labels
