"""Let ``torch.load(weights_only=True)`` (the default since torch 2.6) read mmengine checkpoints.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; its checkpoints hold, besides
tensors, the message hub (``HistoryBuffer`` objects with NumPy arrays and scalars). Instead of
switching the safe unpickler off, we allowlist exactly those types.

``HistoryBuffer`` pickles its statistics methods as ``getattr(buffer, 'mean')``, so the builtin
``getattr`` is on the list too. The weights-only unpickler only *calls* allowlisted callables,
so what ``getattr`` returns (here bound methods) can be stored but never invoked.
"""
from typing import List

import numpy as np
import torch


def mmengine_checkpoint_types() -> List[object]:
    """Return the non-tensor globals that an mmengine training checkpoint pickles."""
    from mmengine.logging import HistoryBuffer

    # numpy 2 moved numpy.core to numpy._core; pickles name the module they came from.
    core = getattr(np, '_core', None) or np.core
    types: List[object] = [
        HistoryBuffer, getattr, np.ndarray, np.dtype, core.multiarray._reconstruct,
        core.multiarray.scalar
    ]
    # numpy >= 1.25 pickles dtypes as their classes, e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(getattr(dtypes, name), type)
        ]
    return types


def register_safe_globals() -> None:
    """Allowlist :func:`mmengine_checkpoint_types` for ``torch.load``'s safe unpickler."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 has no safe unpickler to configure
        add_safe_globals(mmengine_checkpoint_types())


register_safe_globals()
