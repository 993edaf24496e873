"""Per-class FIFO memory of source features for SIM (Eq. 5, Alg. 1)."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine import dist
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class FeatureMemoryBank(nn.Module):
    """Fixed-size per-class ring buffers of (detached) source features.

    One bank serves either kind of SIM sample:

    - stuff bank (Eq. 5): ``size = w = 50`` class-mean features per stuff
      class; slot ``j = i mod w``.
    - instance bank (Alg. 1): instance features per thing class, slot
      ``j = c_k mod (z * w)``; SIM's code uses ``z * w = 10 * 50 = 500``.

    State lives in registered buffers, so banks are saved in checkpoints and
    restored on resume: ``features`` (R, size, dim), ``valid`` (R, size)
    bool and ``ptr`` (R,) long (features written so far, SIM code's
    ``src_*_ptr``; the next slot is ``ptr % size``), with R =
    ``len(class_ids)`` rows (one per class; row r holds class
    ``class_ids[r]``; by default all ``num_classes`` classes). Passing only
    the stuff or thing ids keeps the bank small. Older checkpoints stored
    ``ptr`` as the next slot; a filled row of those loads as ``size + ptr``
    writes.

    Matching (Eq. 6, 8) is ``min_j ||q - S_j||_1``, so :meth:`nearest` uses
    the L1 distance by default (``p=2`` is an option).

    Distributed training: :meth:`update` / :meth:`update_many` gather the
    new features of every rank (``mmengine.dist.all_gather``, in rank order)
    and write them on every rank, so banks stay identical (single process:
    no communication). They are collectives: every rank must call them the
    same number of times, passing empty tensors when it has nothing to store
    (one :meth:`update_many` per step is the simplest). With identical banks
    DDP's ``broadcast_buffers`` is harmless but redundant.

    Args:
        dim (int): Feature dimension.
        size (int): Slots per class (w, or z*w for instances). Default: 50.
        num_classes (int, optional): Classes ``0..num_classes-1`` get a row;
            used when ``class_ids`` is None.
        class_ids (Sequence[int], optional): The classes that get a row.
    """

    def __init__(self,
                 dim: int,
                 size: int = 50,
                 num_classes: Optional[int] = None,
                 class_ids: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        for name, value in (('dim', dim), ('size', size)):
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f'FeatureMemoryBank: {name} must be a '
                                 f'positive int, got {value!r}')
        if class_ids is None:
            if not (isinstance(num_classes, int) and num_classes > 0):
                raise ValueError('FeatureMemoryBank: give num_classes (a '
                                 'positive int) or class_ids, got '
                                 f'num_classes={num_classes!r}')
            class_ids = range(num_classes)
        class_ids = list(class_ids)
        if not class_ids or not all(
                isinstance(c, int) and c >= 0 for c in class_ids) or len(
                    set(class_ids)) != len(class_ids):
            raise ValueError('FeatureMemoryBank: class_ids must be distinct '
                             f'non-negative ints, got {class_ids!r}')
        self.dim = dim
        self.size = size
        self.class_ids = class_ids
        self._row: Dict[int, int] = {c: r for r, c in enumerate(class_ids)}
        rows = len(class_ids)
        self.register_buffer('features', torch.zeros(rows, size, dim))
        self.register_buffer('valid',
                             torch.zeros(rows, size, dtype=torch.bool))
        self.register_buffer('ptr', torch.zeros(rows, dtype=torch.long))

    def row(self, class_id: int) -> int:
        """Buffer row of ``class_id`` (ValueError for an unknown class)."""
        try:
            return self._row[int(class_id)]
        except KeyError:
            raise ValueError(f'FeatureMemoryBank: class {class_id} has no '
                             f'bank; banked classes: {self.class_ids}') \
                from None

    def num_stored(self, class_id: int) -> int:
        """Number of filled slots of ``class_id``."""
        return int(self.valid[self.row(class_id)].sum())

    def is_empty(self, class_id: int) -> bool:
        """True if ``class_id`` has no stored feature yet."""
        return not bool(self.valid[self.row(class_id)].any())

    def num_written(self, class_id: int) -> int:
        """Number of features written to ``class_id`` since the last reset."""
        return int(self.ptr[self.row(class_id)])

    def is_full(self, class_id: int) -> bool:
        """True once more than ``size`` features of ``class_id`` were written.

        SIM's code matches a class only when ``ptr / w > 1``: every slot
        filled and at least one overwritten.
        """
        return self.num_written(class_id) > self.size

    def stored(self, class_id: int) -> Tensor:
        """The stored features of ``class_id``, (n_valid, dim)."""
        r = self.row(class_id)
        return self.features[r][self.valid[r]]

    @torch.no_grad()
    def update(self, class_id: int, feats: Tensor) -> None:
        """Append ``feats`` (N, dim) to the FIFO of ``class_id``.

        A collective under distributed training (see class docstring).
        """
        feats = self._check_feats(feats, 'update')
        ids = torch.full((feats.shape[0], ),
                         int(class_id),
                         dtype=torch.long,
                         device=feats.device)
        self.update_many(ids, feats)

    @torch.no_grad()
    def update_many(self, class_ids: Tensor, feats: Tensor) -> None:
        """Append features of several classes, in order, to their FIFOs.

        Args:
            class_ids (Tensor): (N,) class id of each feature.
            feats (Tensor): (N, dim) features (detached and cast to the
                bank's dtype). A collective under distributed training: the
                features of all ranks are written, rank 0's first.
        """
        feats = self._check_feats(feats, 'update_many')
        class_ids = torch.as_tensor(class_ids, device=feats.device)
        if class_ids.shape != (feats.shape[0], ) or \
                class_ids.dtype.is_floating_point:
            raise ValueError('FeatureMemoryBank.update_many: class_ids must '
                             f'be an integer ({feats.shape[0]},) tensor, got '
                             f'{class_ids.dtype} {tuple(class_ids.shape)}')
        for c in class_ids.unique().tolist():
            self.row(c)  # validate before any communication
        class_ids, feats = self._gather(class_ids.long(), feats)
        feats = feats.to(self.features)
        class_ids = class_ids.to(self.features.device)
        for c in class_ids.unique().tolist():
            self._write(self.row(c), feats[class_ids == c])

    def _write(self, r: int, feats: Tensor) -> None:
        """FIFO write into row r; only the last ``size`` features survive."""
        total = feats.shape[0]
        n, start = total, int(self.ptr[r]) % self.size
        if n > self.size:
            start = (start + n - self.size) % self.size
            feats, n = feats[-self.size:], self.size
        slots = (start + torch.arange(n, device=feats.device)) % self.size
        self.features[r, slots] = feats
        self.valid[r, slots] = True
        self.ptr[r] += total

    @staticmethod
    def _gather(class_ids: Tensor, feats: Tensor) -> Tuple[Tensor, Tensor]:
        """Concatenate (class_ids, feats) of all ranks in rank order."""
        if dist.get_world_size() == 1:
            return class_ids, feats
        num = torch.tensor([feats.shape[0]], device=feats.device)
        nums = [int(n) for n in dist.all_gather(num)]
        if max(nums) == 0:
            return class_ids, feats
        pad = max(nums) - feats.shape[0]
        packed = torch.cat([feats.float(), class_ids[:, None].float()], 1)
        packed = torch.cat([packed, packed.new_zeros(pad, packed.shape[1])])
        parts = [p[:n] for p, n in zip(dist.all_gather(packed), nums)]
        packed = torch.cat(parts)
        return packed[:, -1].round().long(), packed[:, :-1]

    @torch.no_grad()
    def nearest(self, class_id: int, queries: Tensor, p: float = 1.) -> Tensor:
        """The stored feature of ``class_id`` nearest to each query.

        Args:
            class_id (int): Class whose bank is searched (must be non-empty).
            queries (Tensor): (M, dim).
            p (float): Distance norm; 1 = L1 as in Eq. 6, 8. Default: 1.

        Returns:
            Tensor: (M, dim) nearest stored features (no gradient; ties go to
            the lowest slot).
        """
        queries = self._check_feats(queries, 'nearest')
        stored = self.stored(class_id)
        if stored.shape[0] == 0:
            raise ValueError(f'FeatureMemoryBank.nearest: the bank of class '
                             f'{class_id} is empty; check is_empty() first')
        dist_mat = torch.cdist(queries.to(stored), stored, p=p)
        return stored[dist_mat.argmin(dim=1)]

    def _check_feats(self, feats: Tensor, where: str) -> Tensor:
        if not isinstance(feats, Tensor) or feats.dim() != 2 or \
                feats.shape[1] != self.dim:
            raise ValueError(f'FeatureMemoryBank.{where}: features must be '
                             f'(N, {self.dim}), got '
                             f'{tuple(getattr(feats, "shape", ()))}')
        return feats.detach()

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        # old layout (ptr = next slot < size): a filled row wrapped at least
        # once; with the write count a filled row has ptr >= size
        old = self.valid.all(dim=1) & (self.ptr < self.size)
        self.ptr[old] += self.size

    def reset(self) -> None:
        """Empty every class."""
        self.features.zero_()
        self.valid.zero_()
        self.ptr.zero_()

    def extra_repr(self) -> str:
        return (f'dim={self.dim}, size={self.size}, '
                f'class_ids={self.class_ids}')
