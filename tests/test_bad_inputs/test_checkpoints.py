"""Source checkpoints that do not fit: missing, another architecture / class count /
method, not a checkpoint; a method whose need the model lacks (SFDA without BN)."""
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from tiny_models import tiny_segmentor_cfg
from bad_input_utils import SIZE, fails, run, write_config


def _save_model(cfg: dict, path: str) -> str:
    init_default_scope('mmseg')
    torch.save(dict(state_dict=MODELS.build(cfg).state_dict(), meta=dict()), path)
    return path


def test_source_checkpoint_missing(toy, tmp_path):
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'model.source_checkpoint={tmp_path}/nothing.pth')
    assert f'model.source_checkpoint: {tmp_path}/nothing.pth' in msg
    assert 'train the source model first' in msg


def test_source_checkpoint_of_another_architecture(toy, tmp_path):
    ckpt = _save_model(tiny_segmentor_cfg(SIZE, 19), str(tmp_path / 'fcn.pth'))
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'model.source_checkpoint={ckpt}')
    assert f'source_checkpoint {ckpt} does not match the configured segmentor' in msg
    assert 'Use the config the source model was trained with' in msg


def test_source_checkpoint_with_another_num_classes(toy, tmp_path):
    cfg = Config.fromfile(toy.source_cfg).model
    cfg.decode_head.num_classes = 4
    ckpt = _save_model(cfg, str(tmp_path / 'c4.pth'))
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'model.source_checkpoint={ckpt}')
    assert f'source_checkpoint {ckpt}: decode_head.conv_seg.weight' in msg
    assert 'The checkpoint has 4 classes, the config 19' in msg


def test_source_checkpoint_is_a_png(toy, tmp_path):
    png = str(tmp_path / 'model.png')
    cv2.imwrite(png, np.zeros((8, 8, 3), np.uint8))
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                f'model.source_checkpoint={png}')
    assert f'cannot load checkpoint {png}' in msg and 'not a PyTorch checkpoint' in msg
    assert 'weights_only' not in msg


def test_source_checkpoint_of_another_method_trains(toy, tmp_path):
    """An SFDA checkpoint (segmentor.*, generator.* ... keys) as the source model: its
    segmentor is used; nothing to refuse."""
    run('train.py', toy.sfda_cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'model.source_checkpoint={toy.sfda_ckpt}')
    assert osp.isfile(tmp_path / 'w' / 'iter_1.pth')


def test_sfda_on_a_model_without_batchnorm(toy, tmp_path):
    gn = dict(type='GN', num_groups=2, requires_grad=True)
    cfg = write_config(str(tmp_path / 'sfda_gn.py'), toy.sfda_cfg, model=dict(
        segmentor=dict(backbone=dict(norm_cfg=gn), decode_head=dict(norm_cfg=gn))))
    msg = fails('train.py', cfg, '--work-dir', tmp_path / 'w')
    assert 'SFDASegmentor needs BatchNorm layers' in msg and '[batch_norm]' in msg
    assert "norm_cfg=dict(type='BN')" in msg


def test_test_checkpoint_missing(toy, tmp_path):
    msg = fails('test.py', toy.source_cfg, tmp_path / 'none.pth')
    assert f'checkpoint not found: {tmp_path}/none.pth' in msg


def test_test_checkpoint_is_a_png(toy, tmp_path):
    png = str(tmp_path / 'ckpt.png')
    cv2.imwrite(png, np.zeros((8, 8, 3), np.uint8))
    msg = fails('test.py', toy.source_cfg, png, '--work-dir', tmp_path / 'w')
    assert f'cannot load checkpoint {png}' in msg and 'weights_only' not in msg


def test_export_of_a_plain_checkpoint(toy, tmp_path):
    msg = fails('export_segmentor.py', toy.source_ckpt, tmp_path / 'out.pth')
    assert f'{toy.source_ckpt} has no segmentor.* weights' in msg
    assert 'a plain mmseg checkpoint needs no export' in msg
    assert not osp.exists(tmp_path / 'out.pth')


def test_export_of_a_missing_checkpoint(tmp_path):
    msg = fails('export_segmentor.py', tmp_path / 'none.pth', tmp_path / 'out.pth')
    assert f'checkpoint not found: {tmp_path}/none.pth' in msg
