"""Errors of bad user input (a file, a config key or value), and the one line a tool
prints for them instead of a traceback.

Each message names what is wrong (file / key / value) and the fix. The tools
(``tools/train.py``, ``tools/test.py`` ...) turn these errors into ``SystemExit`` with
the message; when one is raised in a dataloader worker, PyTorch re-raises it in the main
process with the worker's traceback folded into the message, which
:func:`bad_input_message` strips again.
"""
import struct
from typing import Optional

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'
#: PNG colour types (IHDR): channels of each
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class BadInputError(ValueError):
    """A user input is wrong; the message names it and the fix."""


class MissingInputError(BadInputError, FileNotFoundError):
    """A file or folder a run needs does not exist; the message names it and the fix."""


def bad_input_message(err: BaseException) -> Optional[str]:
    """The message of ``err`` when it is a :class:`BadInputError` (None otherwise),
    without the worker traceback PyTorch folds into errors from loader workers."""
    if not isinstance(err, BadInputError):
        return None
    text = str(err)
    if 'Original Traceback' in text:  # torch's ExceptionWrapper.reraise
        marker = f'{type(err).__name__}: '
        text = text[text.rfind(marker) + len(marker):] if marker in text else text
    return text.strip()


def image_file_problem(path: str, label: bool = False) -> Optional[str]:
    """What is wrong with the image (or label map) file ``path``, read from its first
    and last bytes only (cheap enough for every file of a dataset); None when it looks
    sound.

    Finds: a missing or zero-byte file, a PNG / JPEG whose signature is wrong or whose
    end is cut off (an interrupted download or copy), and, for ``label``, a PNG with
    more than one channel (labels are single-channel class ids).
    """
    try:
        with open(path, 'rb') as f:
            head = f.read(33)
            if not head:
                return 'is empty (0 bytes)'
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - len(PNG_END)))
            tail = f.read()
    except FileNotFoundError:
        return 'does not exist'
    except OSError as e:
        return f'cannot be read ({e.strerror})'
    lower = path.lower()
    if lower.endswith('.png'):
        if not head.startswith(PNG_SIGNATURE):
            return 'is not a PNG file (wrong signature)'
        if tail != PNG_END:
            return 'is a truncated PNG (no end chunk; the file was cut off)'
        if head[12:16] != b'IHDR':
            return 'is a corrupt PNG (no IHDR header chunk)'
        if label:
            colour = struct.unpack('>B', head[25:26])[0]
            channels = PNG_CHANNELS.get(colour, 0)
            if channels != 1:
                return (f'has {channels} channels (PNG colour type {colour}); a label '
                        'map must be one channel of class ids')
    elif lower.endswith(('.jpg', '.jpeg')):
        if not head.startswith(b'\xff\xd8'):
            return 'is not a JPEG file (wrong signature)'
    return None
