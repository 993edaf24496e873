"""make_sample_picture and tools/browse_dataset.py on a tiny GTA5 tree."""
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg_sfda.datasets import GTA5Dataset
from mmseg_sfda.utils.class_maps import CITYSCAPES_PALETTE
from mmseg_sfda.visualization.sample_pictures import inputs_to_rgb, make_sample_picture

REPO = osp.dirname(osp.dirname(osp.dirname(__file__)))
H, W = 40, 60


@pytest.fixture
def gta5_root(tmp_path):
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 200  # red image
    Image.fromarray(rgb).save(root / 'images' / '00001.png')
    label = np.full((H, W), 255, np.uint8)
    label[:, :20] = 0  # road
    label[:, 20:40] = 13  # car
    Image.fromarray(label).save(root / 'labels' / '00001_labelTrainIds.png')
    return str(root)


def full_pipeline() -> list:
    return [LoadImageFromFile(), LoadAnnotations(), PackSegInputs()]


def test_inputs_to_rgb_contiguous():
    bgr = torch.arange(2 * 3 * 3, dtype=torch.uint8).reshape(3, 2, 3)
    rgb = inputs_to_rgb(bgr)
    assert rgb.flags['C_CONTIGUOUS'] and rgb.shape == (2, 3, 3)
    np.testing.assert_array_equal(rgb[..., 0], bgr[2].numpy())


def test_picture_image_and_overlay(gta5_root):
    ds = GTA5Dataset(data_root=gta5_root, pipeline=full_pipeline())
    pic = make_sample_picture(ds[0], ds.metainfo, with_labels=False)
    assert pic.shape == (H, 2 * W, 3) and pic.dtype == np.uint8
    assert (pic[:, :W] == [200, 0, 0]).all()  # left: the RGB image
    overlay = pic[:, W:].astype(int)
    alpha = 0.8
    road = np.array(CITYSCAPES_PALETTE[0]) * alpha + np.array([200, 0, 0]) * (
        1 - alpha)
    car = np.array(CITYSCAPES_PALETTE[13]) * alpha + np.array([200, 0, 0]) * (
        1 - alpha)
    assert np.abs(overlay[:, :20] - road).max() <= 1
    assert np.abs(overlay[:, 20:40] - car).max() <= 1
    assert np.abs(overlay[:, 40:] - [40, 0, 0]).max() <= 1  # ignore: dimmed


def test_picture_with_class_names_no_cv2_crash(gta5_root):
    """mmsegmentation#3405: non-contiguous images crashed cv2.rectangle."""
    ds = GTA5Dataset(data_root=gta5_root, pipeline=full_pipeline())
    sample = ds[0]
    expected = make_sample_picture(sample, ds.metainfo, with_labels=True)
    x = sample['inputs']
    sample['inputs'] = x.permute(0, 2, 1).contiguous().permute(0, 2, 1)
    assert not sample['inputs'].is_contiguous()
    pic = make_sample_picture(sample, ds.metainfo, with_labels=True)
    assert pic.shape == (H, 2 * W, 3)
    np.testing.assert_array_equal(pic, expected)


def test_unlabelled_sample_gives_image(gta5_root):
    ds = GTA5Dataset(
        data_root=gta5_root,
        data_prefix=dict(img_path='images'),
        pipeline=[LoadImageFromFile(), PackSegInputs()])
    pic = make_sample_picture(ds[0], ds.metainfo)
    assert pic.shape == (H, W, 3)


def test_browse_dataset_tool(gta5_root, tmp_path):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        'train_dataloader = dict(dataset=dict(type="GTA5Dataset", '
        f'data_root={gta5_root!r}, pipeline=[dict(type="LoadImageFromFile"),'
        ' dict(type="LoadAnnotations"), dict(type="PackSegInputs")]))\n')
    path = osp.join(REPO, 'tools', 'browse_dataset.py')
    spec = importlib.util.spec_from_file_location('browse_dataset', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'out'
    assert tool.main([str(cfg), '--output-dir', str(out), '--not-show',
                      '--num', '1']) == 0
    files = os.listdir(out)
    assert files == ['00000_00001.png']
    pic = cv2.imread(str(out / files[0]))
    assert pic.shape == (H, 2 * W, 3)
    assert (pic[:, :W] == [0, 0, 200]).all()  # BGR on disk: red image
