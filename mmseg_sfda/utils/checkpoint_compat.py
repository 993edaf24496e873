"""Read checkpoints with ``torch.load(weights_only=True)`` and a scoped allowlist.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; its checkpoints hold, besides
tensors, the message hub (``HistoryBuffer`` objects with NumPy arrays and scalars). Instead of
switching the safe unpickler off, we allowlist exactly those types, and only while one of our
loads runs (:func:`checkpoint_safe_globals`): importing mmseg_sfda leaves torch's global
allowlist untouched. :func:`register_checkpoint_loader` makes mmengine's loader of local files
(runner resume, ``load_from``, ``init_model``, our ``source_checkpoint``) go through
:func:`load_checkpoint_file`.

``HistoryBuffer`` pickles its statistics methods as ``getattr(buffer, 'mean')``, so the builtin
``getattr`` is on the list too. The weights-only unpickler only *calls* allowlisted callables,
so what ``getattr`` returns (here bound methods) can be stored but never invoked.
"""
import contextlib
import os.path as osp
import pickle
import re
from typing import Iterator, List, Optional

import numpy as np
import torch

from .bad_input import BadInputError

_GLOBAL = re.compile(r'unsupported (?:global: )?GLOBAL ([\w.]+)', re.IGNORECASE)


class CheckpointFileError(BadInputError, pickle.UnpicklingError):
    """A file given as a checkpoint that cannot be read safely (or at all); the tools
    print its message instead of a traceback."""


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


@contextlib.contextmanager
def checkpoint_safe_globals() -> Iterator[None]:
    """Allowlist :func:`mmengine_checkpoint_types` for the loads inside the block only."""
    with torch.serialization.safe_globals(mmengine_checkpoint_types()):
        yield


def _reason(err: BaseException) -> str:
    """What went wrong, in our words (torch's text advises ``weights_only=False``)."""
    text = str(err)
    found = _GLOBAL.search(text)
    if found:
        return (f'it pickles {found.group(1)}, which is neither a tensor nor part of an '
                "mmengine training state; loading it could run the file's code, so it is "
                'refused')
    if isinstance(err, EOFError) or 'Ran out of input' in text:
        return 'it is empty or truncated'
    if 'central directory' in text or 'zip archive' in text:
        return 'it is truncated or not a PyTorch checkpoint (incomplete zip archive)'
    if any(s in text for s in ('invalid load key', 'Unsupported operand', 'MARK')):
        return 'it is not a PyTorch checkpoint (e.g. an image or a text file)'
    return 'it is not a checkpoint of tensors and mmengine training state'


def load_checkpoint_file(filename: str, map_location: Optional[object] = None) -> object:
    """``torch.load(filename, weights_only=True)`` with mmengine's types allowlisted in
    this call only; a file that is not a readable, safe checkpoint raises
    :class:`CheckpointFileError` naming the file and the fix."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        with checkpoint_safe_globals():
            return torch.load(filename, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and 'PytorchStreamReader' not in str(err):
            raise  # e.g. CUDA tensors on a machine without CUDA: torch's message is clear
        raise CheckpointFileError(
            f'cannot load checkpoint {filename}: {_reason(err)}. Give a checkpoint written '
            'by mmengine (tools/train.py) or torch.save of a state_dict of tensors; '
            'a state_dict can be re-saved from the code that made the file.') from None


def register_checkpoint_loader() -> None:
    """Make mmengine's loader of local checkpoint files :func:`load_checkpoint_file`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)


register_checkpoint_loader()
