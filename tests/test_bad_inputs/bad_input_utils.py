"""Tiny configs and tool runners of the bad-input suite (the toy data: conftest.py).

Each test hands one bad input to a user-facing tool (``main()`` called in-process with
``sys.argv`` patched) and requires one clear message, without a traceback, naming the
file / key / value (and, where there is one, the fix).
"""
import contextlib
import importlib.util
import io
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = (32, 64)  # (h, w) of the toy images
_TOOLS: Dict[str, object] = {}

# the toy DeepLabV3-R18 shrunk to 4 base channels (ASPP head kept: image-pool BN)
TINY_MODEL = dict(
    data_preprocessor=dict(size=SIZE),
    backbone=dict(stem_channels=8, base_channels=4),
    decode_head=dict(in_channels=32, channels=8, dilations=(1, 2)))
NO_WORKERS = dict(num_workers=0, persistent_workers=False)


def tool(name: str):
    """The module of ``tools/<name>`` (loaded once)."""
    if name not in _TOOLS:
        spec = importlib.util.spec_from_file_location(
            f'bad_input_tool_{name.replace("/", "_")[:-3]}', osp.join(REPO, 'tools', name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _TOOLS[name] = module
    return _TOOLS[name]


def run(name: str, *argv: str) -> Optional[int]:
    """``tools/<name>``'s ``main()`` with ``sys.argv`` patched."""
    old = sys.argv
    sys.argv = [name] + [str(a) for a in argv]
    try:
        return tool(name).main()
    finally:
        sys.argv = old


def fails(name: str, *argv: str) -> str:
    """Run a tool that must stop with one message (``SystemExit``, no traceback);
    return the message (the exit text and what went to stderr)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exc:
        run(name, *argv)
    code = exc.value.code
    assert code not in (0, None), f'{name} exited 0: {stderr.getvalue()[-2000:]}'
    message = (code if isinstance(code, str) else '') + stderr.getvalue()
    assert 'Traceback' not in message, message
    return message


def write_config(path: str, base: str, **fields) -> str:
    """A config file inheriting ``base`` (a repo config) with ``fields`` overridden."""
    base = base if osp.isabs(base) else osp.join(REPO, base)
    lines = [f'_base_ = [{base!r}]'] + [f'{k} = {v!r}' for k, v in fields.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def short(iters: int = 1) -> dict:
    return dict(
        train_cfg=dict(max_iters=iters, val_interval=1000),
        default_hooks=dict(checkpoint=dict(interval=iters), logger=dict(interval=1)),
        randomness=dict(seed=0))


class Toy:
    """Paths of the shared toy data and configs (see the ``toy`` fixture)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.gta5 = osp.join(root, 'data', 'gta5')
        self.cityscapes = osp.join(root, 'data', 'cityscapes')
        self.source_cfg = osp.join(root, 'source.py')
        self.sfda_cfg = osp.join(root, 'sfda.py')
        self.source_ckpt = osp.join(root, 'source.pth')
        self.sfda_ckpt = ''  # an SFDA run's checkpoint (segmentor.* keys)
        self.sfda_work_dir = osp.join(root, 'sfda_run')

    def copy_data(self, dst: str, which: str = 'gta5') -> str:
        """A private copy of one toy dataset to break."""
        out = osp.join(str(dst), which)
        shutil.copytree(getattr(self, which), out)
        return out

    def files(self, folder: str, suffix: str) -> List[str]:
        import glob
        return sorted(glob.glob(osp.join(folder, '**', f'*{suffix}'), recursive=True))
