"""torch.load(weights_only=True) reads mmengine checkpoints, and only them."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import mmseg_sfda  # noqa: F401  (registers the allowlist)


class NotAllowed:

    def __init__(self):
        self.x = 1


def test_message_hub_state_loads_with_weights_only(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(np.float64(0.5))
    buffer.update(1.5)
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(meta=dict(buffer=buffer, arr=np.arange(3), f=np.float32(2))), path)
    loaded = torch.load(path)  # weights_only defaults to True on torch >= 2.6
    assert loaded['meta']['buffer'].mean() == pytest.approx(1.0)
    assert loaded['meta']['arr'].tolist() == [0, 1, 2]
    assert loaded['meta']['f'] == np.float32(2)


def test_other_types_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(obj=NotAllowed()), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
