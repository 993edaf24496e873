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
