"""Cityscapes converter: *_gtFine_labelIds.png -> *_gtFine_labelTrainIds.png,
the documented command end to end on a tiny tree, read by mmseg's dataset."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmseg.registry import DATASETS
from mmseg_sfda.utils.class_maps import CITYSCAPES_ID_TO_TRAINID
from mmseg_sfda.datasets.converters.cityscapes import convert_cityscapes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))

# label IDs: road 7, sidewalk 8, building 11, car 26, ego vehicle 1,
# license plate (-1, stored 255), unlabeled 0
LABEL_IDS = np.array([[7, 7, 8, 11, 26, 1],
                      [7, 8, 8, 11, 26, 255],
                      [0, 33, 24, 21, 23, 0],
                      [7, 7, 7, 7, 7, 7]], dtype=np.uint8)
TRAIN_IDS = np.array([[0, 0, 1, 2, 13, 255],
                      [0, 1, 1, 2, 13, 255],
                      [255, 18, 11, 8, 10, 255],
                      [0, 0, 0, 0, 0, 0]], dtype=np.uint8)
SAMPLES = {
    'train': [('aachen', 'aachen_000000_000019'),
              ('bremen', 'bremen_000001_000019')],
    'val': [('frankfurt', 'frankfurt_000000_000294')],
}


def write_image(path: str, h: int = 4, w: int = 6) -> None:
    rng = np.random.RandomState(1)
    Image.fromarray(rng.randint(0, 256, (h, w, 3), np.uint8)).save(path)


@pytest.fixture
def cs_root(tmp_path):
    """leftImg8bit/{train,val}/<city>/ and gtFine/{train,val}/<city>/ as
    extracted from the official zips, with the files beside the labelIds."""
    root = tmp_path / 'cityscapes'
    for split, items in SAMPLES.items():
        for city, stem in items:
            img_dir = root / 'leftImg8bit' / split / city
            gt_dir = root / 'gtFine' / split / city
            img_dir.mkdir(parents=True, exist_ok=True)
            gt_dir.mkdir(parents=True, exist_ok=True)
            write_image(str(img_dir / f'{stem}_leftImg8bit.png'))
            Image.fromarray(LABEL_IDS).save(gt_dir /
                                            f'{stem}_gtFine_labelIds.png')
            write_image(str(gt_dir / f'{stem}_gtFine_color.png'))
            assert cv2.imwrite(str(gt_dir / f'{stem}_gtFine_instanceIds.png'),
                               LABEL_IDS.astype(np.uint16) * 1000)  # 16-bit
            (gt_dir / f'{stem}_gtFine_polygons.json').write_text(
                json.dumps(dict(imgHeight=4, imgWidth=6, objects=[])))
    return str(root)


def out_path(root, split, city, stem):
    return osp.join(root, 'gtFine', split, city,
                    f'{stem}_gtFine_labelTrainIds.png')


def load_cli():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'cityscapes.py')
    spec = importlib.util.spec_from_file_location('cli_cityscapes', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


def check_outputs(root: str) -> None:
    for split, items in SAMPLES.items():
        for city, stem in items:
            with Image.open(out_path(root, split, city, stem)) as im:
                assert im.mode == 'L'
                np.testing.assert_array_equal(np.array(im), TRAIN_IDS)


def test_converter_then_mmseg_dataset_from_our_config(cs_root):
    """The documented converter, then the val config's mmseg
    ``CityscapesDataset`` reads the labels it wrote."""
    doc = open(osp.join(REPO, 'docs', 'dataset_preparation.md')).read()
    assert 'python tools/dataset_converters/cityscapes.py data/cityscapes' \
        in doc
    assert load_cli().main([cs_root, '--nproc', '2']) == 0
    check_outputs(cs_root)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets',
                 'cityscapes_val_512x256.py'))
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = cs_root
    init_default_scope('mmseg')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 1
    gt = ds[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(gt, TRAIN_IDS)


@pytest.mark.slow
def test_documented_command_in_a_fresh_process(cs_root):
    """`python tools/dataset_converters/cityscapes.py ROOT` as a user runs
    it after our install (no cityscapesScripts)."""
    cmd = [sys.executable, 'tools/dataset_converters/cityscapes.py', cs_root]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_outputs(cs_root)


def test_every_label_id_and_rerun(cs_root):
    city, stem = SAMPLES['val'][0]
    src = osp.join(cs_root, 'gtFine', 'val', city,
                   f'{stem}_gtFine_labelIds.png')
    ids = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(ids).save(src)
    write_image(osp.join(cs_root, 'leftImg8bit', 'val', city,
                         f'{stem}_leftImg8bit.png'), 16, 16)
    summary = convert_cityscapes(cs_root, splits=['val'])
    assert summary.ok and len(summary.converted) == 1
    with Image.open(out_path(cs_root, 'val', city, stem)) as im:
        out = np.array(im).ravel()
    expected = np.full(256, 255, np.uint8)
    for label_id, train_id in CITYSCAPES_ID_TO_TRAINID.items():
        expected[label_id] = train_id
    np.testing.assert_array_equal(out, expected)
    assert set(summary.unknown_pixels) == set(range(34, 255))
    again = convert_cityscapes(cs_root, splits=['val'])
    assert len(again.existing) == 1 and not again.converted


def test_missing_image_split_and_empty_city(cs_root):
    city, stem = SAMPLES['train'][0]
    os.remove(osp.join(cs_root, 'leftImg8bit', 'train', city,
                       f'{stem}_leftImg8bit.png'))
    summary = convert_cityscapes(cs_root)
    (src, msg), = summary.failed
    assert stem in src and 'has no image' in msg
    with pytest.raises(FileNotFoundError, match=r'gtFine[/\\]test'):
        convert_cityscapes(cs_root, splits=['test'])
    empty = osp.join(cs_root, 'gtFine', 'val', 'frankfurt')
    for name in os.listdir(empty):
        os.remove(osp.join(empty, name))
    with pytest.raises(FileNotFoundError, match='no raw label file') as err:
        convert_cityscapes(cs_root)
    assert empty in str(err.value)
