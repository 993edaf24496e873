"""demo.py, compute_spatial_priors.py, and train.py --amp on a machine without CUDA."""
import contextlib
import io

import torch

from bad_input_utils import fails, tool


def test_demo_unknown_method():
    msg = fails('demo.py', '--method', 'sfdaa')
    assert "--method: invalid choice: 'sfdaa'" in msg and "'sfda'" in msg


def _priors(*argv) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert tool('compute_spatial_priors.py').main([str(a) for a in argv]) == 2
    assert 'Traceback' not in err.getvalue()
    return err.getvalue()


def test_priors_missing_label_dir(tmp_path):
    msg = _priors('--label-dir', tmp_path / 'nope', '--out', tmp_path / 'p.npz')
    assert f'--label-dir {tmp_path}/nope is not a folder' in msg


def test_priors_empty_label_dir(tmp_path):
    msg = _priors('--label-dir', tmp_path, '--out', tmp_path / 'p.npz')
    assert f'no *_labelTrainIds.png files under {tmp_path}' in msg


def test_priors_malformed_cfg_options(toy, tmp_path):
    msg = fails('compute_spatial_priors.py', toy.source_cfg, '--out', tmp_path / 'p.npz',
                '--cfg-options', 'train_dataloader.dataset.data_root')
    assert 'expected KEY=VALUE' in msg


def test_priors_source_data_root_missing(toy, tmp_path):
    msg = _priors(toy.source_cfg, '--out', tmp_path / 'p.npz', '--cfg-options',
                  f'train_dataloader.dataset.data_root={tmp_path}/none')
    assert f'{tmp_path}/none' in msg


def test_train_amp_without_cuda(toy, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)  # also on GPU hosts
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--amp')
    assert '--amp needs a CUDA device' in msg and 'drop --amp' in msg
