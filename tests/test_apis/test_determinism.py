"""Toy runs are deterministic on CPU: the same short adaptation run twice, in this process
and in a fresh one pinned to one core (``taskset -c 0``, where available), gives
bit-identical weights. The method tests compare a method with its control on this
guarantee: any difference between the two is the control's doing, not noise."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import prepare_toy_data, toy_config, train_segmentor
from mmseg_sfda.apis.toy_benchmark import run_toy_method
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from toy_runs import short

pytestmark = pytest.mark.slow  # trains a toy source model and four short runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = (32, 64)
SCRIPT = '''
import sys, torch
sys.path[:0] = [{tests!r}, {tests_root!r}]
torch.set_num_threads(1)
import test_determinism as t
t.adaptation_run({root!r}, {source!r}, {work!r})
'''


def options(iters: int) -> dict:
    return dict(short(iters), **{'train_dataloader.batch_size': 2})


def adaptation_run(root: str, source: str, work: str) -> dict:
    """Three AdaptSegNet iterations from ``source``; the final state dict."""
    torch.manual_seed(0)
    ckpt, _ = run_toy_method('adaptseg', root, source, work, options(3), size=SIZE)
    return load_checkpoint_file(ckpt, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    prepare_toy_data(root, seed=0, height=SIZE[0], width=SIZE[1], num_source=8,
                     num_target_train=8, num_target_val=4, layouts=('gta5', 'cityscapes'))
    cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', root, options(3),
                     SIZE)
    return root, train_segmentor(cfg, str(tmp_path_factory.mktemp('source')))


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} tensors differ, e.g. {differ[:3]}'


def test_same_run_twice_gives_identical_weights(toy, tmp_path):
    root, source = toy
    first = adaptation_run(root, source, str(tmp_path / 'a'))
    second = adaptation_run(root, source, str(tmp_path / 'b'))
    assert_same(first, second)
    # the run moved the weights (a no-op run would be trivially identical)
    start = load_checkpoint_file(source, map_location='cpu')['state_dict']
    assert not torch.equal(first['segmentor.decode_head.conv_seg.weight'],
                           start['decode_head.conv_seg.weight'])


def test_fresh_process_on_one_core_gives_identical_weights(toy, tmp_path):
    root, source = toy
    here = adaptation_run(root, source, str(tmp_path / 'here'))
    work = str(tmp_path / 'one_core')
    here_dir = osp.dirname(osp.abspath(__file__))
    code = SCRIPT.format(tests=here_dir, tests_root=osp.dirname(here_dir), root=root,
                         source=source, work=work)
    subprocess.run(['taskset', '-c', '0', sys.executable, '-c', code], cwd=REPO,
                   check=True, capture_output=True)
    ckpt = osp.join(work, 'adaptseg-adaptsegnet-method', 'iter_3.pth')
    assert_same(here, load_checkpoint_file(ckpt, map_location='cpu')['state_dict'])
