"""Missing, empty and wrongly laid out data roots, through tools/train.py and tools/test.py."""
import os
import os.path as osp

from bad_input_utils import fails


def test_train_config_missing(tmp_path):
    msg = fails('train.py', tmp_path / 'nope.py')
    assert 'config file not found' in msg and 'nope.py' in msg


def test_train_data_root_missing(toy, tmp_path):
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={tmp_path}/no_such_dir')
    assert f'train_dataloader.dataset.data_root: {tmp_path}/no_such_dir' in msg
    assert 'dataset_preparation.md' in msg


def test_train_data_root_empty(toy, tmp_path):
    (tmp_path / 'empty').mkdir()
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={tmp_path}/empty')
    assert f'GTA5 image folder not found: {tmp_path}/empty/images' in msg
    assert 'holds: nothing' in msg and 'train_dataloader.dataset.data_root' in msg


def test_train_data_root_wrong_layout(toy, tmp_path):
    """The GTA5 config pointed at a Cityscapes tree: the message shows what is there."""
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={toy.cityscapes}')
    assert f'GTA5 image folder not found: {toy.cityscapes}/images' in msg
    assert 'gtFine, leftImg8bit' in msg


def test_train_target_image_folder_empty(toy, tmp_path):
    """SFDA's unlabelled target folder exists but holds no image."""
    (tmp_path / 'cs' / 'leftImg8bit' / 'train' / 'city').mkdir(parents=True)
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={tmp_path}/cs')
    assert "train_dataloader.dataset: no images ending in '_leftImg8bit.png'" in msg
    assert f'{tmp_path}/cs/leftImg8bit/train' in msg


def test_train_val_data_root_missing(toy, tmp_path):
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'val_dataloader.dataset.data_root={tmp_path}/gone')
    assert f'val_dataloader.dataset.data_root: {tmp_path}/gone' in msg


def test_test_data_root_missing(toy, tmp_path):
    msg = fails('test.py', toy.source_cfg, toy.source_ckpt, '--work-dir', tmp_path / 'w',
                '--cfg-options', f'test_dataloader.dataset.data_root={tmp_path}/gone')
    assert f'test_dataloader.dataset.data_root: {tmp_path}/gone is not a folder' in msg


def test_test_val_folder_empty(toy, tmp_path):
    os.makedirs(tmp_path / 'cs' / 'leftImg8bit' / 'val')
    os.makedirs(tmp_path / 'cs' / 'gtFine' / 'val')
    msg = fails('test.py', toy.source_cfg, toy.source_ckpt, '--work-dir', tmp_path / 'w',
                '--cfg-options', f'test_dataloader.dataset.data_root={tmp_path}/cs')
    assert 'test_dataloader.dataset: no images ending in' in msg
    assert osp.join(str(tmp_path), 'cs', 'leftImg8bit', 'val') in msg
