"""AtomicCheckpointHook: a kill during a save leaves the previous checkpoint resumable; a
copied work dir resumes its own files; adaptation checkpoints load into plain segmentors."""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis.input_checks import check_resume
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from runner_utils import tiny_cfg
from tiny_models import tiny_segmentor_cfg

N = 2


class Killed(BaseException):
    """Stands for SIGKILL in the middle of writing a checkpoint."""


def atomic_cfg(data_root, work_dir, iters=2 * N):
    cfg = tiny_cfg(data_root, work_dir)
    cfg.model = tiny_segmentor_cfg(size=(32, 64), num_classes=19)
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False,
                                        interval=N, max_keep_ckpts=1)
    return cfg


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_kill_during_save_keeps_previous_checkpoint(tmp_path, data_root, monkeypatch):
    import mmengine.runner.runner as runner_module
    work = str(tmp_path / 'work')
    real = runner_module.save_checkpoint
    calls = []

    def dies_midway(checkpoint, filename, **kwargs):
        calls.append(filename)
        if len(calls) == 2:  # the second save: half a file, then the process dies
            with open(filename, 'wb') as f:
                f.write(b'PK\x03\x04' + bytes(100))
            raise Killed
        real(checkpoint, filename, **kwargs)

    monkeypatch.setattr(runner_module, 'save_checkpoint', dies_midway)
    with pytest.raises(Killed):
        Runner.from_cfg(atomic_cfg(data_root, work)).train()
    monkeypatch.setattr(runner_module, 'save_checkpoint', real)

    first = osp.join(work, f'iter_{N}.pth')
    assert last_checkpoint(work) == first
    assert load_checkpoint_file(first)['meta']['iter'] == N  # intact
    assert not osp.exists(osp.join(work, f'iter_{2 * N}.pth'))

    cfg = atomic_cfg(data_root, work)
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    final = osp.join(work, f'iter_{2 * N}.pth')
    assert last_checkpoint(work) == final
    assert load_checkpoint_file(final)['meta']['iter'] == 2 * N
    assert not osp.exists(first)  # max_keep_ckpts=1: deleted once the new one existed
    assert not [f for f in os.listdir(work) if f.endswith('.tmp')]


def test_copied_work_dir_resumes_its_own_checkpoint(tmp_path, data_root):
    original, copy = str(tmp_path / 'original'), str(tmp_path / 'copy')
    cfg = atomic_cfg(data_root, original, iters=N)
    Runner.from_cfg(cfg).train()
    assert last_checkpoint(original) == osp.join(original, f'iter_{N}.pth')
    shutil.copytree(original, copy)
    # the original goes on (or away): the copy must not read it
    os.remove(osp.join(original, f'iter_{N}.pth'))
    cfg = atomic_cfg(data_root, copy)
    cfg.resume = True
    check_resume(cfg)  # tools/train.py's preflight agrees: no error
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 * N
    assert last_checkpoint(copy) == osp.join(copy, f'iter_{2 * N}.pth')
    assert not osp.exists(osp.join(original, f'iter_{2 * N}.pth'))


def test_copied_work_dir_without_the_checkpoint_stops(tmp_path, data_root):
    original, copy = str(tmp_path / 'original'), str(tmp_path / 'copy')
    Runner.from_cfg(atomic_cfg(data_root, original, iters=N)).train()
    os.makedirs(copy)
    shutil.copy(osp.join(original, 'last_checkpoint'), copy)
    cfg = atomic_cfg(data_root, copy)
    cfg.resume = True
    with pytest.raises(FileNotFoundError, match='copied or moved work_dir'):
        Runner.from_cfg(cfg).train()


def test_adaptation_checkpoint_loads_into_plain_segmentor(tmp_path, data_root):
    plain = Runner.from_cfg(atomic_cfg(data_root, str(tmp_path / 'a'), iters=N))
    plain.train()
    state = plain.model.state_dict()
    adapted = {f'segmentor.{k}': v + 1 if v.is_floating_point() else v
               for k, v in state.items()}
    adapted['discriminator.weight'] = torch.zeros(1)
    ckpt = str(tmp_path / 'adapted.pth')
    torch.save(dict(state_dict=adapted, meta=dict()), ckpt)

    runner = Runner.from_cfg(atomic_cfg(data_root, str(tmp_path / 'b'), iters=N))
    runner.load_checkpoint(ckpt)
    for k, v in runner.model.state_dict().items():
        torch.testing.assert_close(v, adapted[f'segmentor.{k}'], msg=k)

    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=dict(generator_weight=torch.zeros(1))), other)
    with pytest.raises(ValueError, match='no weight of .* matches'):
        runner.load_checkpoint(other)
