"""make_toy_domains.py never mixes two toy sets; demo.py keeps each seed's data and models
apart; export_segmentor.py never overwrites its input."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest
import torch
from mmengine.config import Config

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import train_segmentor
from mmseg_sfda.apis.checkpoint_export import export_segmentor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_toy(out, height, *extra):
    return tool('make_toy_domains').main(
        ['--out', str(out), '--height', str(height), '--width', '32', '--num-source', '2',
         '--layouts', 'gta5', '--nproc', '1', *extra])


def image_sizes(out):
    folder = osp.join(str(out), 'gta5', 'images')
    return {cv2.imread(osp.join(folder, f)).shape[:2] for f in os.listdir(folder)}


def test_make_toy_domains_refuses_another_size_or_seed(tmp_path, capsys):
    out = tmp_path / 'toy'
    assert make_toy(out, 16) == 0
    assert make_toy(out, 16, '--num-source', '3') == 0  # more of the same: fine
    assert make_toy(out, 24) == 2
    assert 'another --out' in capsys.readouterr().err
    assert make_toy(out, 16, '--seed', '1') == 2
    assert image_sizes(out) == {(16, 32)}
    # a folder made before the manifest existed: the images' size is compared
    os.remove(out / 'toy_domains.json')
    assert make_toy(out, 24) == 2
    assert image_sizes(out) == {(16, 32)}


def test_demo_folders_depend_on_the_seed():
    demo = tool('demo')
    zero, one = demo.parse_args([]), demo.parse_args(['--seed', '1'])
    assert (zero.data_root, zero.work_dir) == ('data/toy', 'work_dirs/demo')
    assert (one.data_root, one.work_dir) == ('data/toy_seed1', 'work_dirs/demo_seed1')


def test_train_does_not_reuse_another_seeds_model(tmp_path):
    work = str(tmp_path / 'source')
    os.makedirs(work)
    torch.save(dict(state_dict={}, meta=dict(seed=0, iter=3)), osp.join(work, 'iter_3.pth'))
    cfg = Config(dict(train_cfg=dict(max_iters=3), randomness=dict(seed=1)))
    with pytest.raises(RuntimeError, match='trained with seed 0'):
        train_segmentor(cfg, work)
    cfg.randomness.seed = 0
    assert train_segmentor(cfg, work) == osp.join(work, 'iter_3.pth')


@pytest.fixture
def adaptation_checkpoint(tmp_path):
    path = tmp_path / 'iter_4.pth'
    torch.save(dict(state_dict={'segmentor.w': torch.ones(2), 'generator.w': torch.ones(1)},
                    optimizer=dict(generator=dict(lr=0.1)), meta=dict(iter=4)), path)
    return path


def test_export_refuses_to_overwrite_its_input(adaptation_checkpoint, tmp_path):
    before = adaptation_checkpoint.read_bytes()
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'export_segmentor.py'),
         str(adaptation_checkpoint), str(adaptation_checkpoint)],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode != 0
    assert 'is the input checkpoint' in result.stderr and 'Traceback' not in result.stderr
    assert adaptation_checkpoint.read_bytes() == before
    # the same file by another name
    link = tmp_path / 'link.pth'
    link.symlink_to(adaptation_checkpoint)
    with pytest.raises(ValueError, match='is the input checkpoint'):
        export_segmentor(str(adaptation_checkpoint), str(link))
    assert adaptation_checkpoint.read_bytes() == before
    assert export_segmentor(str(adaptation_checkpoint), str(tmp_path / 'out.pth')) == 1
