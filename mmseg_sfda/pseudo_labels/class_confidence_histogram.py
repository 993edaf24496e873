"""Constant-memory class-wise confidence statistics for pseudo-labelling.

CBST (Alg. 1 / 2), DAS3 (Eq. 4) and SIM / PixIntraDA (class median) all rank,
per predicted class ``c``, the confidences of the pixels predicted as ``c``
over the whole target set. Keeping every confidence costs memory linear in the
data set; :class:`ClassConfidenceHistogram` keeps a fixed ``(C, num_bins)``
int64 count table instead, and answers any order statistic to within one bin
width (``1 / num_bins``).

The statistic of a pixel is its maximum probability, filed in the row of its
argmax class. That is exactly what all four papers rank: CBST Alg. 2 lines 2-6
(``LP = argmax P``, ``MP = max P``, ``M_c += MP[LP == c]``); DAS3 Eq. 4 keeps
``c = argmax_c p^c`` and ``p^c > lambda_c``, so ``lambda_c`` is over the
probability of class ``c`` at the pixels predicted as ``c``, i.e. again the
max probability (no separate "class probability" statistic is needed); SIM
Sec. 4.2 ranks "the maximum item of the softmax output" per predicted class.
"""
import math
from typing import Dict, Optional, Union

import torch
from mmengine import dist
from torch import Tensor

# Tolerance on the [0, 1] range check (softmax in low precision can exceed 1).
_RANGE_TOL = 1e-3


class ClassConfidenceHistogram:
    """Per-class histogram of max-probability confidences over ``[0, 1]``.

    Bin ``i`` holds confidences in ``[i / num_bins, (i + 1) / num_bins)``; a
    confidence of exactly 1.0 goes in the last bin. Memory is
    ``num_classes * num_bins`` int64 counts whatever the number of updates.

    Order statistics (:meth:`sorted_value`, :meth:`quantile`) locate the bin
    holding the requested element from cumulative counts and interpolate
    linearly inside it (elements assumed evenly spread in their bin). The
    exact element lies in that bin, so the answer is within one bin width of
    it.

    Args:
        num_classes (int): Number of classes C.
        num_bins (int): Number of equal-width bins over [0, 1]; must be >= 2.
            Default: 1000 (resolution 1e-3).
    """

    def __init__(self, num_classes: int, num_bins: int = 1000) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError('ClassConfidenceHistogram: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        if not isinstance(num_bins, int) or num_bins < 2:
            raise ValueError('ClassConfidenceHistogram: num_bins must be an '
                             f'int >= 2, got {num_bins!r}')
        self.num_classes = num_classes
        self.num_bins = num_bins
        self._counts = torch.zeros(num_classes, num_bins, dtype=torch.int64)

    @property
    def counts(self) -> Tensor:
        """The (C, num_bins) int64 count table (CPU; do not modify)."""
        return self._counts

    @property
    def bin_width(self) -> float:
        """Width of one bin, the accuracy bound of every order statistic."""
        return 1.0 / self.num_bins

    def reset(self) -> None:
        """Zero all counts (e.g. before a new pseudo-labelling round)."""
        self._counts.zero_()

    @torch.no_grad()
    def update(self,
               prob: Tensor,
               valid_mask: Optional[Tensor] = None) -> None:
        """Add every (valid) pixel's max probability to its argmax class row.

        Args:
            prob (Tensor): Softmax probabilities (B, C, H, W), values in
                [0, 1]. For CBST-SP pass the potential ``prior * prob``
                (see ``apply_spatial_prior``) so that thresholds are ranked
                over the same quantity the selection compares (CBST Sec. 4.4).
            valid_mask (Tensor, optional): (B, H, W); pixels where it is
                False / 0 are not counted (padding, ignored regions).
        """
        conf, label = self._flat_conf_label(prob, valid_mask)
        self.update_scores(conf, label)

    @torch.no_grad()
    def update_scores(self, conf: Tensor, label: Tensor) -> None:
        """Add pixels given as their max probability and argmax class (any shape).

        The same counting as :meth:`update`, for predictions already reduced to
        ``(score, class)`` maps (e.g. read back from disk).
        """
        conf = torch.as_tensor(conf).flatten()
        label = torch.as_tensor(label).flatten().long()
        if conf.shape != label.shape:
            raise ValueError('ClassConfidenceHistogram.update_scores: conf and label '
                             f'need the same number of pixels, got {conf.numel()} and '
                             f'{label.numel()}')
        if conf.numel() == 0:
            return
        if int(label.min()) < 0 or int(label.max()) >= self.num_classes:
            raise ValueError('ClassConfidenceHistogram.update_scores: labels must be in '
                             f'[0, {self.num_classes}), got {int(label.min())}..'
                             f'{int(label.max())}')
        if not bool(((conf >= 0) & (conf <= 1 + _RANGE_TOL)).all()):
            raise ValueError('ClassConfidenceHistogram.update expects '
                             'probabilities in [0, 1] (got values outside; '
                             'logits, or a prior not scaled to max 1?)')
        nb = self.num_bins
        bins = (conf.double() * nb).floor().long().clamp_(0, nb - 1)
        flat = torch.bincount(
            label * nb + bins, minlength=self.num_classes * nb)
        self._counts += flat.view(self.num_classes, nb).cpu()

    def _flat_conf_label(self, prob: Tensor,
                         valid_mask: Optional[Tensor]) -> tuple:
        """Max probability and argmax class of the valid pixels, flattened."""
        if prob.dim() != 4 or prob.shape[1] != self.num_classes:
            raise ValueError('ClassConfidenceHistogram.update expects prob of '
                             f'shape (B, {self.num_classes}, H, W), got '
                             f'{tuple(prob.shape)}')
        conf, label = prob.max(dim=1)
        if valid_mask is None:
            return conf.flatten(), label.flatten()
        if tuple(valid_mask.shape) != tuple(conf.shape):
            raise ValueError('ClassConfidenceHistogram.update: valid_mask '
                             f'must have shape {tuple(conf.shape)} (B, H, W),'
                             f' got {tuple(valid_mask.shape)}')
        keep = valid_mask.to(device=conf.device).bool()
        return conf[keep], label[keep]

    def all_reduce(self) -> None:
        """Sum the counts over all processes (no-op when not distributed)."""
        dist.all_reduce(self._counts, op='sum')

    def count(self, c: Optional[int] = None) -> int:
        """Number of pixels predicted as class ``c`` (all pixels if None)."""
        return int(self._row(c).sum())

    def sorted_value(self,
                     index: int,
                     c: Optional[int] = None,
                     descending: bool = False) -> float:
        """Approximate ``sorted(conf_c)[index]`` (0-based) to one bin width.

        Args:
            index (int): 0-based position in the sorted confidences of class
                ``c``; must be in ``[0, count(c))``.
            c (int, optional): Class; None pools all classes (ST, Alg. 1).
            descending (bool): Index the descending order (CBST's
                ``M_c = sort(M_c, order=descending)``). Default: False.
        """
        row = self._row(c)
        n = int(row.sum())
        if not 0 <= index < n:
            raise ValueError(f'ClassConfidenceHistogram: index {index} out of '
                             f'range for {n} confidences of class {c}')
        if descending:
            index = n - 1 - index
        return self._value_at_ascending(row, index)

    def quantile(self, c: Optional[int], q: float) -> float:
        """Lower ``q``-quantile of class ``c``'s confidences, to one bin width.

        Convention: the ascending sorted element at index
        ``floor(q * (n - 1))``, i.e. ``numpy.quantile(x, q, method='lower')``.

        Raises:
            ValueError: If ``q`` is outside [0, 1] or the class is empty.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f'ClassConfidenceHistogram: q must be in [0, 1], '
                             f'got {q!r}')
        n = self.count(c)
        if n == 0:
            raise ValueError(f'ClassConfidenceHistogram: class {c} has no '
                             'pixels; its quantile is undefined')
        return self.sorted_value(math.floor(q * (n - 1)), c)

    def _row(self, c: Optional[int]) -> Tensor:
        """Counts of class ``c`` (num_bins,), or of all classes if None."""
        if c is None:
            return self._counts.sum(dim=0)
        if not 0 <= c < self.num_classes:
            raise ValueError(f'ClassConfidenceHistogram: class {c} out of '
                             f'range [0, {self.num_classes})')
        return self._counts[c]

    def _value_at_ascending(self, row: Tensor, index: int) -> float:
        """Interpolated value of the ascending ``index``-th counted element."""
        cum = torch.cumsum(row, dim=0)
        b = int(torch.searchsorted(cum, torch.tensor([index]), right=True)[0])
        in_bin = int(row[b])
        offset = index - (int(cum[b]) - in_bin)
        return min(1.0, (b + (offset + 0.5) / in_bin) / self.num_bins)

    def state_dict(self) -> Dict[str, Union[int, Tensor]]:
        """Python ints and a CPU tensor only (``weights_only`` loadable)."""
        return dict(
            num_classes=self.num_classes,
            num_bins=self.num_bins,
            counts=self._counts.clone())

    def load_state_dict(self, state: Dict[str, Union[int, Tensor]]) -> None:
        """Restore counts saved by :meth:`state_dict` (same C and bins)."""
        missing = {'num_classes', 'num_bins', 'counts'} - set(state)
        if missing:
            raise ValueError('ClassConfidenceHistogram.load_state_dict: '
                             f'missing keys {sorted(missing)}')
        if (state['num_classes'], state['num_bins']) != (self.num_classes,
                                                         self.num_bins):
            raise ValueError(
                'ClassConfidenceHistogram.load_state_dict: state has '
                f"(num_classes, num_bins)=({state['num_classes']}, "
                f"{state['num_bins']}), expected ({self.num_classes}, "
                f'{self.num_bins})')
        counts = torch.as_tensor(state['counts'])
        if counts.shape != self._counts.shape:
            raise ValueError('ClassConfidenceHistogram.load_state_dict: '
                             f'counts shape {tuple(counts.shape)} != '
                             f'{tuple(self._counts.shape)}')
        self._counts.copy_(counts.to(torch.int64))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'num_bins={self.num_bins}, count={self.count()})')
