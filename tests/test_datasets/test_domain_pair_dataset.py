"""DomainPairDataset: one source item and one target item per index."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS
from mmseg_sfda.datasets import DomainPairDataset, GTA5Dataset
from mmseg_sfda.utils.class_maps import CITYSCAPES_CLASSES

H, W = 16, 32


class ListDataset(Dataset):
    """Items are the integers 0..n-1 tagged with a name."""

    def __init__(self, n, name, classes=('a', 'b')):
        self.n, self.name = n, name
        self.metainfo = dict(classes=classes, palette=[[0, 0, 0], [1, 1, 1]])

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        if not 0 <= idx < self.n:
            raise IndexError(idx)
        return (self.name, idx)


@pytest.mark.parametrize('n_src,n_tgt', [(3, 7), (7, 3), (4, 4)])
def test_length_is_max_of_both(n_src, n_tgt):
    ds = DomainPairDataset(ListDataset(n_src, 's'), ListDataset(n_tgt, 't'))
    assert len(ds) == max(n_src, n_tgt)


def test_items_have_source_and_target_and_source_cycles():
    ds = DomainPairDataset(ListDataset(3, 's'), ListDataset(7, 't'))
    items = [ds[i] for i in range(len(ds))]
    assert all(set(item) == {'source', 'target'} for item in items)
    assert [item['source'] for item in items] == [('s', i % 3) for i in range(7)]
    assert all(item['target'][0] == 't' and 0 <= item['target'][1] < 7 for item in items)


def test_metainfo_is_the_sources():
    ds = DomainPairDataset(ListDataset(2, 's'), ListDataset(2, 't'))
    assert ds.metainfo['classes'] == ('a', 'b')
    assert ds.metainfo['palette'] == [[0, 0, 0], [1, 1, 1]]


def test_target_index_drawn_from_numpy_global_generator():
    ds = DomainPairDataset(ListDataset(40, 's'), ListDataset(5, 't'))
    np.random.seed(123)
    got = [ds[i]['target'][1] for i in range(40)]
    np.random.seed(123)
    expected = [np.random.randint(5) for _ in range(40)]
    assert got == expected
    assert len(set(got)) > 1  # really random, not a fixed index
    np.random.seed(123)
    assert [ds[i]['target'][1] for i in range(40)] == got  # reproducible
    np.random.seed(124)
    assert [ds[i]['target'][1] for i in range(40)] != got


def test_mismatched_classes_raise():
    with pytest.raises(ValueError, match=r'different classes \(2 vs 3\)'):
        DomainPairDataset(ListDataset(2, 's'), ListDataset(2, 't', classes=('a', 'b', 'c')))


def test_same_classes_in_other_order_raise():
    with pytest.raises(ValueError, match='different classes'):
        DomainPairDataset(ListDataset(2, 's'), ListDataset(2, 't', classes=('b', 'a')))


@pytest.mark.parametrize('empty', ['source', 'target'])
def test_empty_dataset_raises(empty):
    parts = dict(source=ListDataset(2, 's'), target=ListDataset(2, 't'))
    parts[empty] = ListDataset(0, empty[0])
    with pytest.raises(ValueError, match=f'the {empty} dataset is empty'):
        DomainPairDataset(**parts)


# ------------------------------------------------------------ real datasets
def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def roots(tmp_path):
    """GTA5 (converted, 3 images) and Cityscapes (unlabelled, 2 images) trees.

    Source image i is filled with 10 * (i + 1) and its label with i; target image j is
    filled with 100 + j, so every loaded item tells which file it came from.
    """
    init_default_scope('mmseg')  # the pipelines name mmseg transforms
    gta = tmp_path / 'gta5'
    for i in range(3):
        _write_png(gta / 'images' / f'0000{i + 1}.png',
                   np.full((H, W, 3), 10 * (i + 1), np.uint8))
        _write_png(gta / 'labels' / f'0000{i + 1}_labelTrainIds.png',
                   np.full((H, W), i, np.uint8))
    city = tmp_path / 'cityscapes'
    for j in range(2):
        _write_png(city / 'leftImg8bit' / 'train' / 'c' / f'c_00000{j}_000000_leftImg8bit.png',
                   np.full((H, W, 3), 100 + j, np.uint8))
    return str(gta), str(city)


def _source_cfg(root):
    return dict(type='GTA5Dataset', data_root=root,
                pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                          dict(type='PackSegInputs')])


def _target_cfg(root):
    return dict(type='CityscapesDataset', data_root=root,
                data_prefix=dict(img_path='leftImg8bit/train'),
                pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')])


def test_real_gta5_and_cityscapes_from_configs(roots):
    gta, city = roots
    ds = DATASETS.build(dict(type='DomainPairDataset', source=_source_cfg(gta),
                             target=_target_cfg(city)))
    assert isinstance(ds, DomainPairDataset)
    assert isinstance(ds.source, GTA5Dataset) and isinstance(ds.target, CityscapesDataset)
    assert len(ds) == 3
    assert tuple(ds.metainfo['classes']) == tuple(CITYSCAPES_CLASSES)
    np.random.seed(0)
    expected_targets = [np.random.randint(2) for _ in range(3)]
    np.random.seed(0)
    for i in range(3):
        item = ds[i]
        src, tgt = item['source'], item['target']
        assert tuple(src['inputs'].shape) == (3, H, W)
        assert int(src['inputs'][0, 0, 0]) == 10 * (i + 1)
        gt = src['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape) == (1, H, W) and torch.all(gt == i)
        assert int(tgt['inputs'][0, 0, 0]) == 100 + expected_targets[i]
        assert 'gt_sem_seg' not in tgt['data_samples']
        assert tgt['data_samples'].img_path.endswith(
            f'c_00000{expected_targets[i]}_000000_leftImg8bit.png')


def test_real_datasets_through_dataloader(roots):
    gta, city = roots
    ds = DomainPairDataset(DATASETS.build(_source_cfg(gta)), DATASETS.build(_target_cfg(city)))
    loader = DataLoader(ds, batch_size=2, shuffle=False, collate_fn=pseudo_collate)
    batches = list(loader)
    assert [len(b['source']['inputs']) for b in batches] == [2, 1]
    first = batches[0]
    assert set(first) == {'source', 'target'}
    assert set(first['source']) == {'inputs', 'data_samples'}
    assert [int(x[0, 0, 0]) for x in first['source']['inputs']] == [10, 20]
    assert [int(x[0, 0, 0]) in (100, 101) for x in first['target']['inputs']] == [True, True]
    assert len(first['target']['data_samples']) == 2
    labels = [int(s.gt_sem_seg.data[0, 0, 0]) for s in first['source']['data_samples']]
    assert labels == [0, 1]


def test_mismatched_real_datasets_raise(roots):
    gta, city = roots
    target = _target_cfg(city)
    target['metainfo'] = dict(classes=CITYSCAPES_CLASSES[:16])
    with pytest.raises(ValueError, match=r'\(19 vs 16\)'):
        DomainPairDataset(_source_cfg(gta), target)
