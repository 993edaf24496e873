"""Checkpoints are read with weights_only=True and a scoped allowlist; code-running pickles
and non-checkpoints are refused with our message (never torch's weights_only=False advice)."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

import mmseg_sfda  # noqa: F401  (registers mmengine's local checkpoint loader)
from mmseg_sfda.utils.checkpoint_compat import (CheckpointFileError,
                                                checkpoint_safe_globals,
                                                load_checkpoint_file)


class RunsCode:
    """Unpickling it runs a shell command (a malicious 'checkpoint')."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def message_hub_checkpoint(path) -> None:
    buffer = HistoryBuffer()
    buffer.update(np.float64(0.5))
    buffer.update(1.5)
    torch.save(dict(state_dict=dict(w=torch.ones(2)),
                    meta=dict(buffer=buffer, arr=np.arange(3), f=np.float32(2))), path)


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    message_hub_checkpoint(path)
    for loaded in (load_checkpoint_file(str(path)), _load_checkpoint(str(path))):
        assert loaded['meta']['buffer'].mean() == pytest.approx(1.0)
        assert loaded['meta']['arr'].tolist() == [0, 1, 2]
        assert loaded['meta']['f'] == np.float32(2)


def test_allowlist_is_scoped_to_our_loads(tmp_path):
    safe = torch.serialization.get_safe_globals()
    assert getattr not in safe and HistoryBuffer not in safe
    path = tmp_path / 'ckpt.pth'
    message_hub_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError):  # a plain torch.load elsewhere
        torch.load(path, weights_only=True)
    with checkpoint_safe_globals():
        assert getattr in torch.serialization.get_safe_globals()
    assert getattr not in torch.serialization.get_safe_globals()


@pytest.mark.parametrize('load', [load_checkpoint_file, _load_checkpoint],
                         ids=['ours', 'mmengine'])
def test_code_running_pickle_is_refused(tmp_path, load):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1)), meta=RunsCode(str(marker))), path)
    with pytest.raises(CheckpointFileError) as err:
        load(str(path))
    assert not marker.exists()
    msg = str(err.value)
    assert str(path) in msg and 'system' in msg and 'refused' in msg
    assert 'weights_only=False' not in msg and 'add_safe_globals' not in msg


@pytest.mark.parametrize('content,reason', [
    (b'\x89PNG\r\n\x1a\n' + bytes(64), 'not a PyTorch checkpoint'),
    (b'', 'empty or truncated'),
], ids=['png', 'empty'])
def test_not_a_checkpoint_gets_our_message(tmp_path, content, reason):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointFileError) as err:
        _load_checkpoint(str(path))
    assert reason in str(err.value) and str(path) in str(err.value)
    assert 'weights_only' not in str(err.value).replace('weights_only=True', '')
    assert err.value.__suppress_context__  # torch's advice is not printed either


def test_truncated_checkpoint_gets_our_message(tmp_path):
    path = tmp_path / 'model.pth'
    message_hub_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointFileError, match='truncated'):
        load_checkpoint_file(str(path))
