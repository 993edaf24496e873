"""tools/train.py: the headline command names every missing input before building."""
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_headline_names_missing_data_and_source_checkpoint(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         osp.join(REPO, 'configs', 'sfda', 'deeplabv3_r50_gta2cs.py')],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    err = result.stderr
    assert 'Traceback' not in err
    assert 'model.source_checkpoint: work_dirs/deeplabv3_r50_gta5-512x256_40k/' \
        'iter_40000.pth' in err
    assert 'train_dataloader.dataset.data_root: data/cityscapes' in err
    assert 'configs/source_only/' in err and 'dataset_preparation.md' in err


def toy_roots(tmp_path, label_size=(32, 64)):
    """Four 32x64 GTA5-layout pairs (the first label of ``label_size``) and one
    Cityscapes val image."""
    import cv2
    import numpy as np
    gta, city = tmp_path / 'gta5', tmp_path / 'cs'
    rng = np.random.default_rng(0)
    (gta / 'images').mkdir(parents=True)
    (gta / 'labels').mkdir()
    for i in range(4):
        cv2.imwrite(str(gta / 'images' / f'{i:05d}.png'),
                    rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
        label = np.zeros(label_size if i == 0 else (32, 64), np.uint8)
        label[16:] = 1
        cv2.imwrite(str(gta / 'labels' / f'{i:05d}_labelTrainIds.png'), label)
    for folder in ('leftImg8bit', 'gtFine'):
        (city / folder / 'val' / 'c').mkdir(parents=True)
    cv2.imwrite(str(city / 'leftImg8bit' / 'val' / 'c' / 'c_0_0_leftImg8bit.png'),
                rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
    cv2.imwrite(str(city / 'gtFine' / 'val' / 'c' / 'c_0_0_gtFine_labelTrainIds.png'),
                np.zeros((32, 64), np.uint8))
    return gta, city


def train_toy_source(tmp_path, gta, city, *options):
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         osp.join(REPO, 'configs', 'toy', 'deeplabv3_r18_toy-gta5_source.py'),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         f'train_dataloader.dataset.data_root={gta}',
         f'val_dataloader.dataset.data_root={city}',
         f'test_dataloader.dataset.data_root={city}', 'train_cfg.val_interval=100',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         *options],
        cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_label_of_another_size_than_its_image_is_refused(tmp_path):
    """A misaligned image/label pair is never trained on: the run stops naming both."""
    gta, city = toy_roots(tmp_path, label_size=(30, 60))
    result = train_toy_source(tmp_path, gta, city, 'train_cfg.max_iters=2')
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert f'{gta}/images/00000.png is 32x64' in result.stderr
    assert f'{gta}/labels/00000_labelTrainIds.png is 30x60' in result.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))


@pytest.mark.slow
def test_blow_up_exits_with_the_loss_iteration_and_last_checkpoint(tmp_path):
    """lr 1e6: one line naming the loss, the iteration and the last good checkpoint."""
    gta, city = toy_roots(tmp_path)
    result = train_toy_source(tmp_path, gta, city, 'train_cfg.max_iters=8',
                              'default_hooks.checkpoint.interval=1',
                              'optim_wrapper.optimizer.lr=1e6')
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    found = re.search(r"error: .*: (loss|weight) '.+' is NaN or Inf at iteration (\d+): "
                      r'training stopped, nothing saved. Last good checkpoint: (\S+)\.',
                      result.stderr)
    assert found, result.stderr[-2000:]
    it = int(found.group(2))
    assert found.group(3) == str(tmp_path / 'work' / f'iter_{it - 1}.pth')
    assert not (tmp_path / 'work' / f'iter_{it}.pth').exists()
