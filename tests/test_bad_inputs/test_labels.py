"""Class ids the model cannot predict (labels, pseudo labels, num_classes below the
data's) and batches BatchNorm cannot train on."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np

from bad_input_utils import NO_WORKERS, fails, run, write_config


def test_label_ids_out_of_range(toy, tmp_path):
    """Raw ids (e.g. unconverted labels) would fail inside the loss naming no file."""
    root = toy.copy_data(tmp_path)
    labels = toy.files(osp.join(root, 'labels'), '_labelTrainIds.png')
    for path in labels:
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        label[:4, :4] = 30
        cv2.imwrite(path, label)
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'train_dataloader.dataset.data_root={root}')
    assert 'holds class id(s) [30]' in msg and 'predicts 19 classes' in msg
    assert any(f'label {p} (image ' in msg for p in labels)
    assert 'tools/dataset_converters/' in msg


def test_num_classes_below_the_data(toy, tmp_path):
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                'model.decode_head.num_classes=4')
    assert 'model.decode_head.num_classes=4 but train_dataloader.dataset has 19 ' \
        'classes' in msg
    assert 'set model.decode_head.num_classes=19' in msg


def _pseudo_config(toy, tmp_path, label_hw, value):
    """Source-style training on toy Cityscapes images with an existing round of pseudo
    labels of size ``label_hw`` filled with ``value``."""
    round_dir = tmp_path / 'round_0'
    os.makedirs(round_dir / 'labels')
    images = toy.files(osp.join(toy.cityscapes, 'leftImg8bit', 'train'), '.png')
    for img in images:
        stem = osp.splitext(osp.basename(img))[0]
        cv2.imwrite(str(round_dir / 'labels' / f'{stem}.png'),
                    np.full(label_hw, value, np.uint8))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadPseudoLabel', pseudo_label_dir=str(round_dir)),
                dict(type='PackSegInputs')]
    dataset = dict(_delete_=True, type='CityscapesDataset', data_root=toy.cityscapes,
                   data_prefix=dict(img_path='leftImg8bit/train'), pipeline=pipeline)
    cfg = write_config(str(tmp_path / 'pseudo.py'), toy.source_cfg,
                       train_dataloader=dict(dataset=dataset, **NO_WORKERS))
    return cfg, round_dir


def test_pseudo_label_ids_out_of_range(toy, tmp_path):
    cfg, round_dir = _pseudo_config(toy, tmp_path, (32, 64), 40)
    msg = fails('train.py', cfg, '--work-dir', tmp_path / 'w')
    assert f'label {round_dir}/labels/' in msg and 'holds class id(s) [40]' in msg


def test_pseudo_label_of_wrong_size(toy, tmp_path):
    cfg, round_dir = _pseudo_config(toy, tmp_path, (16, 32), 1)
    msg = fails('train.py', cfg, '--work-dir', tmp_path / 'w')
    assert f'LoadPseudoLabel: {round_dir}/labels/' in msg
    assert 'is 16x32 (HxW) but its image' in msg and 'regenerate the round' in msg


def test_pseudo_label_files_deleted(toy, tmp_path):
    """The round's label files removed under a run that reads them."""
    cfg, round_dir = _pseudo_config(toy, tmp_path, (32, 64), 1)
    shutil.rmtree(round_dir / 'labels')
    msg = fails('train.py', cfg, '--work-dir', tmp_path / 'w')
    assert f'pseudo-label file not found: {round_dir}/labels/' in msg
    assert 'one file per training image' in msg


def test_pseudo_label_of_wrong_size_in_a_loader_worker(toy, tmp_path):
    """The same, raised in a loader worker: no worker traceback in the message."""
    cfg, round_dir = _pseudo_config(toy, tmp_path, (16, 32), 1)
    msg = fails('train.py', cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                'train_dataloader.num_workers=1')
    assert f'LoadPseudoLabel: {round_dir}/labels/' in msg and 'is 16x32 (HxW)' in msg
    assert 'DataLoader worker' not in msg and 'Original Traceback' not in msg


def test_batch_of_one_with_image_pool_batchnorm(toy, tmp_path):
    """DeepLabV3's ASPP image-pool branch pools to 1x1: BN cannot train on one image."""
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                'train_dataloader.batch_size=1')
    assert 'train_dataloader.batch_size=1' in msg and 'at least 2 images per GPU' in msg


def test_odd_batch_for_ipsm(toy, tmp_path):
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                'train_dataloader.batch_size=3')
    assert 'train_dataloader.batch_size=3 is odd' in msg and 'Eq. 14' in msg
    assert 'model.use_ipsm=False' in msg


def test_odd_train_batch_does_not_block_testing(toy, tmp_path, capfd):
    """tools/test.py checks only what testing reads."""
    run('test.py', toy.sfda_cfg, toy.sfda_ckpt, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'train_dataloader.batch_size=3')
    assert 'mIoU13:' in capfd.readouterr().out
