"""tools/compute_spatial_priors.py from a label folder and from a config."""
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.pseudo_labels.spatial_priors import (compute_spatial_priors,
                                             load_spatial_priors)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'compute_spatial_priors.py')


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def gta5_root(tmp_path):
    """A converted GTA5 tree: images/, raw labels and *_labelTrainIds.png."""
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        name = f'{i + 1:05d}'
        Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(
            root / 'images' / f'{name}.png')
        Image.fromarray(np.full((8, 10), 99, np.uint8)).save(
            root / 'labels' / f'{name}.png')  # raw label: must be skipped
        label = rng.integers(0, 19, (8, 10)).astype(np.uint8)
        label[0, :3] = 255
        Image.fromarray(label).save(root / 'labels' /
                                    f'{name}_labelTrainIds.png')
    return root


def test_label_dir(gta5_root, tmp_path):
    out = str(tmp_path / 'priors' / 'gta5.npz')
    res = run_tool('--label-dir', str(gta5_root / 'labels'), '--out', out,
                   '--kernel-size', '3', '--size', '4', '5')
    assert res.returncode == 0, res.stderr[-2000:]
    assert f'saved spatial priors to {out}' in res.stdout
    assert '19 classes, 4x5 (HxW), kernel 3' in res.stdout
    assert 'from 3 label files' in res.stdout
    priors, meta = load_spatial_priors(out, num_classes=19, with_meta=True)
    files = sorted(str(p) for p in (gta5_root / 'labels').glob(
        '*_labelTrainIds.png'))
    with warnings.catch_warnings():  # some classes are absent: uniform
        warnings.simplefilter('ignore')
        expected = compute_spatial_priors(files, 19, size=(4, 5),
                                          kernel_size=3, show_progress=False)
    np.testing.assert_allclose(priors, expected, rtol=1e-6)
    assert meta['kernel_size'] == 3 and meta['size'] == [4, 5]
    assert meta['num_files'] == 3 and meta['normalize'] == 'class'
    assert meta['source'] == str(gta5_root / 'labels')


def test_config_domain_pair_source(gta5_root, tmp_path):
    cfg = tmp_path / 'uda.py'
    cfg.write_text(
        "custom_imports = dict(imports=['mmseg_sfda'], "
        'allow_failed_imports=False)\n'
        "default_scope = 'mmseg'\n"
        'train_dataloader = dict(dataset=dict(\n'
        "    type='DomainPairDataset',\n"
        "    source=dict(type='GTA5Dataset', data_root='UNSET',\n"
        "                pipeline=[dict(type='LoadAnnotations')]),\n"
        f"    target=dict(type='GTA5Dataset', data_root={str(gta5_root)!r},\n"
        '                pipeline=[])))\n')
    out = str(tmp_path / 'p.npz')
    res = run_tool(str(cfg), '--out', out, '--kernel-size', '1',
                   '--cfg-options',
                   f'train_dataloader.dataset.source.data_root={gta5_root}')
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'train_dataloader.dataset.source' in res.stdout
    priors, meta = load_spatial_priors(out, num_classes=19, with_meta=True)
    assert priors.shape == (19, 8, 10) and meta['num_files'] == 3
    files = sorted(str(p) for p in (gta5_root / 'labels').glob(
        '*_labelTrainIds.png'))
    expected = compute_spatial_priors(files, 19, kernel_size=1,
                                      show_progress=False)
    np.testing.assert_allclose(priors, expected, rtol=1e-6)


def test_errors(tmp_path):
    res = run_tool('--label-dir', str(tmp_path / 'missing'), '--out',
                   str(tmp_path / 'p.npz'))
    assert res.returncode == 2
    assert str(tmp_path / 'missing') in res.stderr
    res = run_tool('--out', str(tmp_path / 'p.npz'))
    assert res.returncode == 2 and 'either CONFIG or --label-dir' in res.stderr
