"""NTHUDataset: one city, train (unlabelled) and test (mixed suffixes)."""
import os
import os.path as osp

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg.registry import DATASETS
from mmseg_sfda.datasets import NTHUDataset

TRAIN_IDS = np.array([[0, 1, 2, 255], [13, 18, 10, 8]], dtype=np.uint8)
TEST = {'pano_00002_2_180': '.png', 'pano_00003_0_0': '.jpg',
        'pano_00004_1_90': '.png'}


def write_image(path: str) -> None:
    Image.fromarray(np.full((2, 4, 3), 90, np.uint8)).save(path)


@pytest.fixture
def nthu_root(tmp_path):
    root = tmp_path / 'NTHU'
    city = root / 'Rome'
    for sub in ('Images/Train', 'Images/Test', 'Labels/Test'):
        (city / sub).mkdir(parents=True)
    for i in range(3):
        write_image(str(city / 'Images' / 'Train' / f'pano_1000{i}_0_0.jpg'))
    for stem, suffix in TEST.items():
        write_image(str(city / 'Images' / 'Test' / (stem + suffix)))
        labels = city / 'Labels' / 'Test'
        Image.fromarray(np.full((2, 4), 7, np.uint8)).save(
            labels / f'{stem}_eval.png')
        Image.fromarray(TRAIN_IDS).save(labels / f'{stem}_labelTrainIds.png')
        for distractor in ('_city.png', '_bgr.png', '_visual.png'):
            write_image(str(labels / (stem + distractor)))
    return str(root)


def full_pipeline() -> list:
    return [LoadImageFromFile(), LoadAnnotations(), PackSegInputs()]


def test_test_split_mixed_suffixes(nthu_root):
    ds = NTHUDataset(
        data_root=nthu_root, city='Rome', split='test',
        pipeline=full_pipeline())
    assert len(ds) == 3
    paths = [ds.get_data_info(i)['img_path'] for i in range(3)]
    assert [osp.basename(p) for p in paths] == [
        s + TEST[s] for s in sorted(TEST)]
    assert ds.get_data_info(1)['seg_map_path'] == osp.join(
        nthu_root, 'Rome', 'Labels', 'Test',
        'pano_00003_0_0_labelTrainIds.png')
    for i in range(3):
        gt = ds[i]['data_samples'].gt_sem_seg.data.numpy()[0]
        np.testing.assert_array_equal(gt, TRAIN_IDS)


def test_city_folder_as_data_root_and_registry(nthu_root):
    ds = DATASETS.build(
        dict(type='NTHUDataset', data_root=osp.join(nthu_root, 'Rome'),
             pipeline=[]))
    assert len(ds) == 3


def test_train_split_unlabelled(nthu_root):
    ds = NTHUDataset(
        data_root=nthu_root, city='Rome', split='train',
        pipeline=[LoadImageFromFile(), PackSegInputs()])
    assert len(ds) == 3
    assert 'seg_map_path' not in ds.get_data_info(0)
    assert 'gt_sem_seg' not in ds[0]['data_samples']


def test_errors(nthu_root):
    with pytest.raises(FileNotFoundError) as err:
        NTHUDataset(data_root=nthu_root, city='Tokyo')
    assert osp.join(nthu_root, 'Tokyo') in str(err.value)
    assert 'Rome' in str(err.value)
    with pytest.raises(FileNotFoundError, match='city='):
        NTHUDataset(data_root=nthu_root)
    with pytest.raises(ValueError, match='split'):
        NTHUDataset(data_root=nthu_root, city='Rome', split='val')
    os.remove(osp.join(nthu_root, 'Rome', 'Labels', 'Test',
                       'pano_00003_0_0_labelTrainIds.png'))
    with pytest.raises(FileNotFoundError) as err:
        NTHUDataset(data_root=nthu_root, city='Rome')
    msg = str(err.value)
    assert 'pano_00003_0_0.jpg' in msg
    assert 'pano_00003_0_0_labelTrainIds.png' in msg
    assert f'nthu.py {nthu_root} --cities Rome' in msg


def test_missing_split_folder(nthu_root):
    os.rename(osp.join(nthu_root, 'Rome', 'Images', 'Train'),
              osp.join(nthu_root, 'Rome', 'Images', 'train_old'))
    with pytest.raises(FileNotFoundError) as err:
        NTHUDataset(data_root=nthu_root, city='Rome', split='train')
    assert osp.join(nthu_root, 'Rome', 'Images', 'Train') in str(err.value)


def test_label_size_checked_before_a_resizing_pipeline(nthu_root):
    """The val pipeline resizes the image before loading the label: the
    check compares the files, not the pipeline's arrays."""
    from mmseg.datasets.transforms import Resize
    ds = NTHUDataset(
        data_root=nthu_root, city='Rome', split='test',
        pipeline=[LoadImageFromFile(), Resize(scale=(8, 4)),
                  LoadAnnotations(), PackSegInputs()])
    ds[0]
    seg = osp.join(nthu_root, 'Rome', 'Labels', 'Test',
                   'pano_00003_0_0_labelTrainIds.png')
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(seg)
    with pytest.raises(ValueError, match='but its label') as err:
        ds[1]
    assert seg in str(err.value) and 'pano_00003_0_0.jpg' in str(err.value)
    assert '--cities Rome' in str(err.value)
