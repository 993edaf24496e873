"""Kill-and-resume: N iterations, stop, resume to 2N == an uninterrupted 2N run (also with
dropout and random flips: RNGStateHook)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from runner_utils import Interrupted  # (its module registers InterruptHook)
from runner_utils import tiny_cfg, write_tiny_gta5
from tiny_models import tiny_segmentor_cfg

N = 3


@pytest.fixture
def data_root(tmp_path):
    return write_tiny_gta5(str(tmp_path / 'gta5'))


def final_weights(work_dir: str):
    return load_checkpoint_file(osp.join(work_dir, f'iter_{2 * N}.pth'), map_location='cpu')


def test_resume_matches_uninterrupted(tmp_path, data_root):
    Runner.from_cfg(tiny_cfg(data_root, str(tmp_path / 'full'))).train()

    cfg = tiny_cfg(data_root, str(tmp_path / 'killed'))
    cfg.custom_hooks = [dict(type='InterruptHook', at=N)]
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    assert osp.isfile(tmp_path / 'killed' / f'iter_{N}.pth')
    assert not osp.isfile(tmp_path / 'killed' / f'iter_{2 * N}.pth')

    cfg = tiny_cfg(data_root, str(tmp_path / 'killed'))
    cfg.resume = True  # torch.load(weights_only=True) must read the checkpoint
    Runner.from_cfg(cfg).train()

    full, resumed = final_weights(str(tmp_path / 'full')), final_weights(
        str(tmp_path / 'killed'))
    assert full['meta']['iter'] == resumed['meta']['iter'] == 2 * N
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, msg=key)
    momentum = [s['momentum_buffer'] for s in full['optimizer']['state'].values()]
    momentum_r = [s['momentum_buffer'] for s in resumed['optimizer']['state'].values()]
    for a, b in zip(momentum, momentum_r):
        torch.testing.assert_close(a, b)
    # the two runs really trained: weights moved away from the iteration-N state
    mid = load_checkpoint_file(str(tmp_path / 'killed' / f'iter_{N}.pth'))
    key = 'decode_head.conv_seg.weight'
    assert not torch.equal(mid['state_dict'][key], full['state_dict'][key])


def random_cfg(data_root: str, work_dir: str, rng_hook: bool) -> Config:
    """Dropout 0.5 in the head, random flips in the (main-process) pipeline, and a
    validation right after the checkpoint (as in the full-size configs)."""
    cfg = tiny_cfg(data_root, work_dir)
    cfg.model = tiny_segmentor_cfg(size=(32, 64), num_classes=19)
    cfg.model.decode_head.dropout_ratio = 0.5
    cfg.train_dataloader.dataset.pipeline.insert(
        2, dict(type='RandomFlip', prob=0.5))
    cfg.val_dataloader = dict(
        batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='GTA5Dataset', data_root=data_root, pipeline=[
            dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]))
    cfg.val_evaluator = dict(type='IoUMetric')
    cfg.val_cfg = dict(type='ValLoop')
    cfg.train_cfg.val_interval = N
    if rng_hook:
        cfg.default_hooks.rng_state = dict(type='RNGStateHook')
    else:
        cfg.default_hooks.pop('rng_state', None)
    return cfg


def kill_and_resume(tmp_path, data_root, name: str, rng_hook: bool) -> dict:
    work = str(tmp_path / name)
    cfg = random_cfg(data_root, work, rng_hook)
    cfg.custom_hooks = [dict(type='InterruptHook', at=N)]
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    cfg = random_cfg(data_root, work, rng_hook)
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    return final_weights(work)['state_dict']


def test_resume_with_dropout_matches_uninterrupted(tmp_path, data_root):
    Runner.from_cfg(random_cfg(data_root, str(tmp_path / 'full'), True)).train()
    full = final_weights(str(tmp_path / 'full'))['state_dict']
    saved = load_checkpoint_file(str(tmp_path / 'full' / f'iter_{N}.pth'))
    assert set(saved['meta']['rng_state']) >= {'python', 'numpy', 'torch'}

    resumed = kill_and_resume(tmp_path, data_root, 'killed', rng_hook=True)
    for key, value in full.items():
        assert torch.equal(resumed[key], value), key
    # without the hook the dropout masks after the resume differ (the test can fail)
    unsaved = kill_and_resume(tmp_path, data_root, 'killed_without', rng_hook=False)
    assert any(not torch.equal(unsaved[k], v) for k, v in full.items())
