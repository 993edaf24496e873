"""SynthiaDataset on a converted SYNTHIA tree."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg_sfda.datasets import SynthiaDataset

TRAIN_IDS = np.array([[0, 1, 2], [10, 13, 255]], dtype=np.uint8)


@pytest.fixture
def synthia_root(tmp_path):
    """RGB/, GT/COLOR/, raw 16-bit GT/LABELS/ and converted labels."""
    root = tmp_path / 'synthia'
    for sub in ('RGB', 'GT/COLOR', 'GT/LABELS'):
        (root / sub).mkdir(parents=True)
    for name in ('0000000', '0000001', '0000002'):
        img = np.random.RandomState(1).randint(0, 256, (2, 3, 3), np.uint8)
        Image.fromarray(img).save(root / 'RGB' / f'{name}.png')
        Image.fromarray(img).save(root / 'GT' / 'COLOR' / f'{name}.png')
        raw = np.zeros((2, 3, 3), np.uint16)
        raw[..., 2] = [[3, 4, 2], [1, 8, 0]]
        cv2.imwrite(str(root / 'GT' / 'LABELS' / f'{name}.png'), raw)
        Image.fromarray(TRAIN_IDS).save(root / 'GT' / 'LABELS' /
                                        f'{name}_labelTrainIds.png')
    return str(root)


def test_length_and_sample(synthia_root):
    ds = SynthiaDataset(
        data_root=synthia_root,
        pipeline=[LoadImageFromFile(), LoadAnnotations(), PackSegInputs()])
    assert len(ds) == 3
    assert ds.get_data_info(2)['seg_map_path'] == osp.join(
        synthia_root, 'GT', 'LABELS', '0000002_labelTrainIds.png')
    gt = ds[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(gt, TRAIN_IDS)
    assert len(ds.metainfo['classes']) == 19


def test_unlabelled(synthia_root):
    ds = SynthiaDataset(
        data_root=synthia_root,
        data_prefix=dict(img_path='RGB'),
        pipeline=[LoadImageFromFile(), PackSegInputs()])
    assert len(ds) == 3 and 'gt_sem_seg' not in ds[0]['data_samples']


def test_errors(synthia_root, tmp_path):
    missing = str(tmp_path / 'no_synthia')
    with pytest.raises(FileNotFoundError) as err:
        SynthiaDataset(data_root=missing)
    assert missing in str(err.value) and 'synthia.py' in str(err.value)
    os.remove(osp.join(synthia_root, 'GT', 'LABELS',
                       '0000001_labelTrainIds.png'))
    with pytest.raises(FileNotFoundError) as err:
        SynthiaDataset(data_root=synthia_root)
    assert '0000001.png' in str(err.value)
    assert '0000001_labelTrainIds.png' in str(err.value)
    os.rename(osp.join(synthia_root, 'GT'), osp.join(synthia_root, 'gt'))
    with pytest.raises(FileNotFoundError) as err:
        SynthiaDataset(data_root=synthia_root)
    assert osp.join(synthia_root, 'GT', 'LABELS') in str(err.value)
    assert 'python tools/dataset_converters/synthia.py' in str(err.value)
