"""Our tools/test.py and mmseg's own tools/test.py both evaluate our configs."""
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg
import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'toy', 'deeplabv3_r18_toy-gta5_source.py')
MMSEG_TEST = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')


@pytest.fixture(scope='module')
def toy_val(tmp_path_factory):
    """Two 32x64 images in the Cityscapes val layout and a checkpoint of the toy model."""
    root = tmp_path_factory.mktemp('cs')
    rng = np.random.default_rng(0)
    for split_dir in ('leftImg8bit', 'gtFine'):
        (root / split_dir / 'val' / 'c').mkdir(parents=True)
    for i in range(2):
        stem = f'c_000000_{i:06d}'
        cv2.imwrite(str(root / 'leftImg8bit' / 'val' / 'c' / f'{stem}_leftImg8bit.png'),
                    rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
        cv2.imwrite(str(root / 'gtFine' / 'val' / 'c' / f'{stem}_gtFine_labelTrainIds.png'),
                    rng.integers(0, 19, (32, 64), dtype=np.uint8))
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    ckpt = str(root / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    return str(root), ckpt


@pytest.mark.parametrize('tool', [osp.join(REPO, 'tools', 'test.py'), MMSEG_TEST],
                         ids=['ours', 'mmseg'])
def test_test_tool_evaluates_toy_config(tool, toy_val, tmp_path):
    root, ckpt = toy_val
    result = subprocess.run(
        [sys.executable, tool, CONFIG, ckpt, '--work-dir', str(tmp_path),
         '--cfg-options', f'test_dataloader.dataset.data_root={root}',
         'test_dataloader.batch_size=1'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout + result.stderr
    found = re.search(r'mIoU: ([\d.]+).*mIoU16: ([\d.]+).*mIoU13: ([\d.]+)', out)
    assert found, out[-2000:]
    assert all(0.0 <= float(v) <= 100.0 for v in found.groups())


def run_test_tool(config, ckpt, root, work_dir):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'test.py'), config, ckpt, '--work-dir',
         str(work_dir), '--cfg-options', f'test_dataloader.dataset.data_root={root}',
         'test_dataloader.batch_size=1'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    return result, result.stdout + result.stderr


@pytest.mark.slow
def test_adaptation_checkpoint_with_source_only_config_scores_its_segmentor(
        toy_val, tmp_path):
    """Never an untrained model: the segmentor.* weights are loaded, and say so."""
    root, ckpt = toy_val
    plain = torch.load(ckpt, weights_only=True)['state_dict']
    adapted = str(tmp_path / 'adapted.pth')
    torch.save(dict(state_dict={f'segmentor.{k}': v for k, v in plain.items()},
                    meta=dict()), adapted)
    scores = []
    for path in (ckpt, adapted):
        result, out = run_test_tool(CONFIG, path, root, tmp_path)
        assert result.returncode == 0, out[-2000:]
        scores.append(re.search(r'mIoU: ([\d.]+)', out).group(1))
    assert 'is a checkpoint of a DomainAdaptiveSegmentor' in out
    assert scores[0] == scores[1]
