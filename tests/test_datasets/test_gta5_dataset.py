"""GTA5Dataset on a converted GTA5 tree."""
import os
import os.path as osp

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg.registry import DATASETS
from mmseg_sfda.datasets import GTA5Dataset
from mmseg_sfda.utils.class_maps import CITYSCAPES_CLASSES

TRAIN_IDS = np.array([[0, 1, 2, 255], [13, 18, 10, 8]], dtype=np.uint8)


def pipeline(with_labels: bool = True) -> list:
    steps = [LoadImageFromFile()]
    if with_labels:
        steps.append(LoadAnnotations())
    return steps + [PackSegInputs()]


@pytest.fixture
def gta5_root(tmp_path):
    """Converted tree: raw palette labels beside *_labelTrainIds.png."""
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    for i, name in enumerate(('00001', '00002')):
        img = np.full((2, 4, 3), 40 * i, dtype=np.uint8)
        Image.fromarray(img).save(root / 'images' / f'{name}.png')
        raw = Image.frombytes('P', (4, 2), bytes(range(7, 15)))
        raw.putpalette([7] * 768)
        raw.save(root / 'labels' / f'{name}.png')
        Image.fromarray(TRAIN_IDS).save(root / 'labels' /
                                        f'{name}_labelTrainIds.png')
    return str(root)


def test_lists_images_only_and_loads_labels(gta5_root):
    ds = GTA5Dataset(data_root=gta5_root, pipeline=pipeline())
    assert len(ds) == 2  # not the 4 files of labels/
    assert ds.metainfo['classes'] == CITYSCAPES_CLASSES
    assert len(ds.metainfo['palette']) == 19
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(gta5_root, 'images', '00001.png')
    assert info['seg_map_path'] == osp.join(gta5_root, 'labels',
                                            '00001_labelTrainIds.png')
    sample = ds[1]
    assert tuple(sample['inputs'].shape) == (3, 2, 4)
    gt = sample['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(gt, TRAIN_IDS)


def test_build_from_registry(gta5_root):
    ds = DATASETS.build(
        dict(type='GTA5Dataset', data_root=gta5_root, pipeline=[]))
    assert isinstance(ds, GTA5Dataset) and len(ds) == 2


def test_unlabelled_use_without_load_annotations(gta5_root):
    ds = GTA5Dataset(data_root=gta5_root, pipeline=pipeline(False))
    assert 'gt_sem_seg' not in ds[0]['data_samples']
    for f in os.listdir(osp.join(gta5_root, 'labels')):
        os.remove(osp.join(gta5_root, 'labels', f))
    ds = GTA5Dataset(
        data_root=gta5_root,
        data_prefix=dict(img_path='images', seg_map_path=None),
        pipeline=pipeline(False))
    assert len(ds) == 2 and 'seg_map_path' not in ds.get_data_info(0)
    assert 'gt_sem_seg' not in ds[0]['data_samples']


def test_missing_root_and_labels(gta5_root, tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        GTA5Dataset(data_root=missing)
    assert missing in str(err.value)
    assert f'python tools/dataset_converters/gta5.py {missing}' in str(
        err.value)
    # labels not converted yet
    for f in os.listdir(osp.join(gta5_root, 'labels')):
        if f.endswith('_labelTrainIds.png'):
            os.remove(osp.join(gta5_root, 'labels', f))
    with pytest.raises(FileNotFoundError, match='gta5.py'):
        GTA5Dataset(data_root=gta5_root)


def test_image_without_label_names_both(gta5_root):
    os.remove(osp.join(gta5_root, 'labels', '00002_labelTrainIds.png'))
    with pytest.raises(FileNotFoundError) as err:
        GTA5Dataset(data_root=gta5_root)
    msg = str(err.value)
    assert osp.join(gta5_root, 'images', '00002.png') in msg
    assert osp.join(gta5_root, 'labels', '00002_labelTrainIds.png') in msg
    ds = GTA5Dataset(data_root=gta5_root, skip_missing_labels=True)
    assert len(ds) == 1


def test_missing_label_folder(gta5_root):
    with pytest.raises(FileNotFoundError, match='label folder'):
        GTA5Dataset(
            data_root=gta5_root,
            data_prefix=dict(img_path='images', seg_map_path='nolabels'))


def test_image_label_size_mismatch_names_both(gta5_root):
    """A 35x64 image with a 37x64 label (written by another tool) is refused
    at load, whatever the pipeline does afterwards."""
    img = osp.join(gta5_root, 'images', '00002.png')
    seg = osp.join(gta5_root, 'labels', '00002_labelTrainIds.png')
    Image.fromarray(np.zeros((35, 64, 3), np.uint8)).save(img)
    Image.fromarray(np.zeros((37, 64), np.uint8)).save(seg)
    ds = GTA5Dataset(data_root=gta5_root, pipeline=pipeline())
    ds[0]  # a matching pair loads
    with pytest.raises(ValueError) as err:
        ds[1]
    msg = str(err.value)
    assert img in msg and seg in msg and '35x64' in msg and '37x64' in msg
    assert 'gta5.py' in msg
    # unlabelled use never opens the label; the check can be turned off
    ds = GTA5Dataset(
        data_root=gta5_root,
        data_prefix=dict(img_path='images', seg_map_path=None),
        pipeline=pipeline(False))
    ds[1]
    ds = GTA5Dataset(data_root=gta5_root, check_label_size=False,
                     pipeline=[])
    assert ds[1]['seg_map_path'] == seg
