"""NonFiniteGuardHook: a blow-up stops the run with the loss, the iteration and the last
good checkpoint, and no non-finite checkpoint is written."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg_sfda.engine.hooks import NonFiniteError
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from runner_utils import tiny_cfg
from tiny_models import tiny_segmentor_cfg


def guarded_cfg(data_root, work_dir):
    cfg = tiny_cfg(data_root, work_dir)
    cfg.model = tiny_segmentor_cfg(size=(32, 64), num_classes=19)
    cfg.train_cfg.max_iters = 6
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False,
                                        interval=1)
    cfg.default_hooks.non_finite_guard = dict(type='NonFiniteGuardHook')
    return cfg


def saved_checkpoints_are_finite(work_dir):
    paths = glob.glob(osp.join(work_dir, 'iter_*.pth'))
    for path in paths:
        for k, v in load_checkpoint_file(path)['state_dict'].items():
            if v.is_floating_point():
                assert torch.isfinite(v).all(), (path, k)
    return paths


@pytest.mark.parametrize('blow_up', ['lr', 'loss_weight'])
def test_blow_up_stops_with_loss_iteration_and_last_checkpoint(tmp_path, data_root,
                                                               blow_up):
    work = str(tmp_path / 'work')
    cfg = guarded_cfg(data_root, work)
    if blow_up == 'lr':
        cfg.optim_wrapper.optimizer.lr = 1e6
    else:
        cfg.model.decode_head.loss_decode.loss_weight = 1e30
    with pytest.raises(NonFiniteError) as err:
        Runner.from_cfg(cfg).train()
    msg = str(err.value)
    found = re.search(r'iteration (\d+)', msg)
    assert found and 'is NaN or Inf' in msg, msg
    it = int(found.group(1))
    assert 'loss' in msg or 'weight' in msg
    paths = saved_checkpoints_are_finite(work)
    assert osp.join(work, f'iter_{it}.pth') not in paths  # the bad state is not saved
    if it > 1:
        assert f'Last good checkpoint: {osp.join(work, f"iter_{it - 1}.pth")}' in msg
    else:
        assert 'Last good checkpoint: none' in msg


def test_non_finite_loss_is_named(tmp_path, data_root):
    cfg = guarded_cfg(data_root, str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'NonFiniteGuardHook')
    runner.train()  # finite: the run finishes
    outputs = dict(loss=torch.tensor(float('nan')), acc_seg=torch.tensor(50.))
    with pytest.raises(NonFiniteError, match=r"loss 'loss' is NaN or Inf at iteration 7"):
        hook.after_train_iter(runner, 6, outputs=outputs)
    # a NaN accuracy (a batch without labelled pixels) is no reason to stop
    hook.after_train_iter(runner, 6, outputs=dict(loss=torch.tensor(1.),
                                                  acc_seg=torch.tensor(float('nan'))))


def test_non_finite_checkpoint_is_never_written(tmp_path, data_root):
    work = str(tmp_path / 'work')
    runner = Runner.from_cfg(guarded_cfg(data_root, work))
    runner.train()
    with torch.no_grad():
        next(runner.model.parameters()).fill_(float('inf'))
    with pytest.raises(NonFiniteError, match='of the checkpoint to save'):
        runner.save_checkpoint(work, 'bad.pth')
    assert not osp.exists(osp.join(work, 'bad.pth'))
