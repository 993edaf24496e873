"""Broken image and label files in training data: stopped before training, named."""
import os.path as osp

import cv2
import numpy as np

from bad_input_utils import fails

from mmseg_sfda.utils.bad_input import PNG_END


def _train_on(toy, tmp_path, root):
    return fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                 f'train_dataloader.dataset.data_root={root}')


def test_zero_byte_image(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    bad = toy.files(osp.join(root, 'images'), '.png')[1]
    open(bad, 'wb').close()
    msg = _train_on(toy, tmp_path, root)
    assert f'image {bad} is empty (0 bytes)' in msg and 'Re-download' in msg


def test_corrupt_png_image(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    bad = toy.files(osp.join(root, 'images'), '.png')[0]
    with open(bad, 'wb') as f:
        f.write(b'this is not an image' * 10)
    msg = _train_on(toy, tmp_path, root)
    assert f'image {bad} is not a PNG file' in msg


def test_truncated_png_image(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    bad = toy.files(osp.join(root, 'images'), '.png')[2]
    data = open(bad, 'rb').read()
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    msg = _train_on(toy, tmp_path, root)
    assert f'image {bad} is a truncated PNG' in msg


def test_several_bad_files_listed_in_one_message(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    images = toy.files(osp.join(root, 'images'), '.png')
    for path in images[:2]:
        open(path, 'wb').close()
    msg = _train_on(toy, tmp_path, root)
    assert '2 bad file(s)' in msg and images[0] in msg and images[1] in msg


def test_three_channel_label_map(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    bad = toy.files(osp.join(root, 'labels'), '_labelTrainIds.png')[0]
    label = cv2.imread(bad, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(bad, np.stack([label] * 3, axis=-1))
    msg = _train_on(toy, tmp_path, root)
    assert f'label {bad} has 3 channels' in msg and 'one channel of class ids' in msg


def test_zero_byte_label(toy, tmp_path):
    root = toy.copy_data(tmp_path)
    bad = toy.files(osp.join(root, 'labels'), '_labelTrainIds.png')[3]
    open(bad, 'wb').close()
    msg = _train_on(toy, tmp_path, root)
    assert f'label {bad} is empty (0 bytes)' in msg


def test_undecodable_png_in_a_loader_worker(toy, tmp_path):
    """A PNG whose ends look sound but whose data is garbage passes the cheap check and
    fails to decode in a loader worker: still one message naming the file."""
    root = toy.copy_data(tmp_path)
    images = toy.files(osp.join(root, 'images'), '.png')
    for bad in images:  # every image: the first batch meets one
        with open(bad, 'rb') as f:
            header = f.read(33)  # signature and IHDR: the size is readable
        with open(bad, 'wb') as f:
            f.write(header + b'\x00' * 64 + PNG_END)
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={root}',
                'train_dataloader.num_workers=1')
    assert 'cannot decode image' in msg and any(p in msg for p in images)
    assert 'DataLoader worker' not in msg
