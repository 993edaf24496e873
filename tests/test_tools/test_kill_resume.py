"""Real kill -9 resume, every method family: ``tools/train.py`` as a subprocess on a tiny
toy config is SIGKILLed after a checkpoint, resumed with ``--resume``, and its final
weights and optimizer states must equal an uninterrupted run's bit for bit.

The kill point is deterministic: ``PauseAfterIterHook`` (imported by the configs) writes
a marker after iteration ``KILL_AT`` (its checkpoint saved) and sleeps; the test waits for
the marker, the checkpoint and ``last_checkpoint``, then sends SIGKILL.
"""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from mmseg_sfda.apis import prepare_toy_data, toy_config
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from toy_runs import short

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))
SIZE = (32, 64)
ITERS, KILL_AT = 4, 2  # checkpoint every 2
# the toy DeepLabV3-R18 shrunk to 4 base channels (as tests/test_bad_inputs)
TINY = {'backbone.stem_channels': 8, 'backbone.base_channels': 4,
        'decode_head.in_channels': 32, 'decode_head.channels': 8,
        'decode_head.dilations': (1, 2)}
SFDA = {'model.generator.latent_dim': 16, 'model.generator.out_size': (16, 32),
        'model.discriminator.embed_dim': 16, 'model.discriminator.num_patches': 4,
        'model.num_patches': 2}
#: case: (toy config, extra options, where the kill lands: after iteration KILL_AT's
#: checkpoint and its hooks ('after'), before PseudoLabelHook's labelling ('before') or
#: inside it ('labelling': see PauseAfterIterHook))
CASES = {
    'sfda': ('sfda_deeplabv3_r18_toy-gta2cs.py', SFDA, 'after'),
    # round 2's labels complete but not in the checkpoint: the resumed run adopts them
    'cbst-round-boundary': ('cbst_deeplabv3_r18_toy-gta2cs.py', {}, 'after'),
    'cbst-before-labelling': ('cbst_deeplabv3_r18_toy-gta2cs.py', {}, 'before'),
    # round 2 half written (no completion mark): the resumed run labels it again
    'cbst-while-labelling': ('cbst_deeplabv3_r18_toy-gta2cs.py', {}, 'labelling'),
    'das3-a': ('das3-a_deeplabv3_r18_toy-gta2cs.py', {}, 'after'),
    'adaptsegnet': ('adaptsegnet_deeplabv3_r18_toy-gta2cs.py', {}, 'after'),
    # banks of one sample: full (more than size writes) before the kill
    'sim-step1': ('sim-step1_deeplabv3_r18_toy-gta2cs.py',
                  {'model.stuff_bank.size': 1, 'model.instance_bank.size': 1}, 'after'),
    'pixintrada': ('pixintrada_deeplabv3_r18_toy-gta2cs.py', {}, 'after'),
}


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('kill_resume') / 'toy')
    prepare_toy_data(root, seed=0, height=SIZE[0], width=SIZE[1], num_source=4,
                     num_target_train=4, num_target_val=1, layouts=('gta5', 'cityscapes'))
    return root


@pytest.fixture(scope='module')
def source_checkpoint(tmp_path_factory) -> str:
    """The tiny source model's initialisation as a plain mmseg checkpoint."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', size=SIZE,
                     options={f'model.{k}': v for k, v in TINY.items()})
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('source') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def write_config(case: str, toy_root: str, source: str, path: str) -> str:
    name, extra, where = CASES[case]
    options = dict(short(ITERS), **{'model.source_checkpoint': source,
                                    'train_dataloader.batch_size': 2,
                                    'default_hooks.checkpoint.interval': KILL_AT})
    options.update({f'model.segmentor.{k}': v for k, v in TINY.items()})
    options.update(extra)
    cfg = toy_config(osp.join('configs/toy', name), toy_root, options, size=SIZE)
    hooks = list(cfg.custom_hooks)
    for hook in hooks:
        if hook.get('type') == 'PseudoLabelHook' and hook.get('max_rounds', 1) > 1:
            hook.update(round_iters=KILL_AT, max_rounds=ITERS // KILL_AT)
    # same priority (LOWEST) as PseudoLabelHook: their order in the list decides
    pause = dict(type='PauseAfterIterHook')
    hooks = [pause] + hooks if where == 'before' else hooks + [pause]
    cfg.custom_hooks = hooks
    cfg.custom_imports = dict(imports=['mmseg_sfda', 'pause_after_iter_hook'],
                              allow_failed_imports=False)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.dump(path)
    return path


def train(config: str, work_dir: str, *extra: str, pause: str = '',
          in_labelling: bool = False, log: str = '') -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([HERE, REPO, os.environ.get('PYTHONPATH', '')]))
    if pause:
        env.update(KILL_RESUME_PAUSE_AT=str(KILL_AT), KILL_RESUME_MARKER=pause)
        if in_labelling:
            env['KILL_RESUME_IN_LABELLING'] = '1'
    with open(log or work_dir + '.log', 'w') as out:
        return subprocess.Popen(
            [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir',
             work_dir, *extra], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def log_tail(work_dir: str, log: str = '') -> str:
    with open(log or work_dir + '.log') as f:
        return f.read()[-3000:]


def finish(proc: subprocess.Popen, work_dir: str, log: str = '') -> None:
    assert proc.wait(timeout=600) == 0, log_tail(work_dir, log)


def kill_after_checkpoint(proc: subprocess.Popen, work_dir: str, marker: str) -> None:
    """Wait for the paused run's marker (its checkpoint saved), then SIGKILL it."""
    deadline = time.time() + 600
    while not osp.isfile(marker):
        assert proc.poll() is None, f'exited before the kill point:\n{log_tail(work_dir)}'
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f'no kill point in 600 s:\n{log_tail(work_dir)}')
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert osp.isfile(osp.join(work_dir, f'iter_{KILL_AT}.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith(f'iter_{KILL_AT}.pth')
    assert not osp.isfile(osp.join(work_dir, f'iter_{ITERS}.pth'))


def differences(a, b, path: str = '') -> list:
    """Paths of the tensors (and other leaves) that differ between two nested states."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b))
        return [] if same else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f'{path} keys {sorted(set(a) ^ set(b))}']
        return [d for k in a for d in differences(a[k], b[k], f'{path}.{k}')]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f'{path} length {len(a)} != {len(b)}']
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f'{path}[{i}]')]
    return [] if a == b else [f'{path} {a!r} != {b!r}']


@pytest.fixture(scope='module')
def full_runs() -> dict:
    """Uninterrupted runs by (config, options): the CBST cases share one (without its
    environment variables PauseAfterIterHook does nothing, wherever it is placed)."""
    return {}


@pytest.mark.slow  # three tools/train.py processes (two at once)
@pytest.mark.parametrize('case', list(CASES))
def test_kill_9_resume_is_exact(case, toy_root, source_checkpoint, full_runs, tmp_path):
    config = write_config(case, toy_root, source_checkpoint, str(tmp_path / 'cfg.py'))
    killed, marker = str(tmp_path / 'killed'), str(tmp_path / 'paused')
    key = repr(CASES[case][:2])
    full, full_proc = full_runs.get(key, str(tmp_path / 'full')), None
    if key not in full_runs:
        full_proc = train(config, full)
    in_labelling = CASES[case][2] == 'labelling'
    killed_proc = train(config, killed, pause=marker, in_labelling=in_labelling)
    kill_after_checkpoint(killed_proc, killed, marker)
    if in_labelling:  # killed with round 1's labels half written
        round_dir = osp.join(killed, 'pseudo_labels', 'round_1')
        labels = glob.glob(osp.join(round_dir, 'labels', '**', '*.png'), recursive=True)
        assert len(labels) == 1  # of 4 target images
        assert not osp.isfile(osp.join(round_dir, 'class_stats.json'))
    mid = load_checkpoint_file(osp.join(killed, f'iter_{KILL_AT}.pth'), map_location='cpu')
    log = killed + '_resumed.log'  # same work dir, its own log
    finish(train(config, killed, '--resume', log=log), killed, log)
    if full_proc is not None:
        finish(full_proc, full)
        full_runs[key] = full

    a = load_checkpoint_file(osp.join(full, f'iter_{ITERS}.pth'), map_location='cpu')
    b = load_checkpoint_file(osp.join(killed, f'iter_{ITERS}.pth'), map_location='cpu')
    assert a['meta']['iter'] == b['meta']['iter'] == ITERS
    assert a['optimizer'], 'no optimizer state saved'
    diff = differences(a['state_dict'], b['state_dict'], 'state_dict')
    diff += differences(a['optimizer'], b['optimizer'], 'optimizer')
    assert not diff, f'{len(diff)} differ: {diff[:20]}'
    # the resumed run really trained past the kill: weights moved since iteration KILL_AT
    assert mid['meta']['iter'] == KILL_AT
    if case == 'sim-step1':  # killed with a full stuff bank row (more than size writes)
        assert mid['state_dict']['stuff_bank.ptr'].max() > 1
    assert differences(mid['state_dict'], b['state_dict'])
