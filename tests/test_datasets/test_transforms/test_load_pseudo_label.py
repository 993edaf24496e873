"""LoadPseudoLabel + PackSegInputsWithExtras keep the maps pixel-aligned."""
import os

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose, LoadImageFromFile

from mmseg.datasets.transforms import PackSegInputs, RandomCrop
from mmseg_sfda.datasets.transforms.load_pseudo_label import LoadPseudoLabel
from mmseg_sfda.datasets.transforms.pack_seg_inputs_with_extras import \
    PackSegInputsWithExtras

H, W, C = 20, 28, 5
STEM = 'frankfurt_000000_000294_leftImg8bit'


def label_of(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    lab = (y + 2 * x) % 19
    return np.where((x + y) % 13 == 0, 255, lab).astype(np.uint8)


def conf_code(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return ((y * W + x) * 100 + 5).astype(np.uint16)


def negative_of(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    c = np.arange(C)
    return ((y[..., None] + 3 * x[..., None] + c) % 4 == 0)


def interior_runs(values: np.ndarray) -> set:
    """Lengths of the runs of equal values, leaving out the two end runs."""
    edges = np.flatnonzero(np.diff(values)) + 1
    return set(np.diff(edges).tolist())


@pytest.fixture
def round_dir(tmp_path):
    """An image whose pixels encode (y, x), and a full round directory."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([yy, xx, np.full_like(yy, 7)], -1).astype(np.uint8)
    (tmp_path / 'img').mkdir()
    img_path = str(tmp_path / 'img' / f'{STEM}.png')
    cv2.imwrite(img_path, img)
    root = tmp_path / 'round_1'
    for sub in ('labels', 'confidence', 'negative'):
        (root / sub).mkdir(parents=True)
    cv2.imwrite(str(root / 'labels' / f'{STEM}.png'), label_of(yy, xx))
    cv2.imwrite(str(root / 'confidence' / f'{STEM}.png'), conf_code(yy, xx))
    np.savez(root / 'negative' / f'{STEM}.npz',
             bits=np.packbits(negative_of(yy, xx), axis=-1), num_classes=C)
    return img_path, str(root)


def load(img_path: str, transform) -> dict:
    results = LoadImageFromFile()(dict(img_path=img_path))
    return transform(results)


def test_loads_label_confidence_negative(round_dir):
    img_path, root = round_dir
    out = load(img_path, LoadPseudoLabel(root, True, True))
    yy, xx = np.mgrid[0:H, 0:W]
    assert out['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(out['gt_seg_map'], label_of(yy, xx))
    assert out['gt_confidence'].dtype == np.float32
    np.testing.assert_allclose(out['gt_confidence'],
                               conf_code(yy, xx) / 65535.0, rtol=1e-6)
    assert 0 <= out['gt_confidence'].min() <= out['gt_confidence'].max() <= 1
    assert out['gt_negative_mask'].dtype == np.uint8
    assert out['gt_negative_mask'].shape == (H, W, C)
    np.testing.assert_array_equal(out['gt_negative_mask'],
                                  negative_of(yy, xx))
    assert out['seg_fields'] == ['gt_seg_map', 'gt_confidence',
                                 'gt_negative_mask']
    assert out['pseudo_label_dir'] == root
    assert out['pseudo_label_path'] == os.path.join(root, 'labels',
                                                    f'{STEM}.png')


def test_label_only_and_existing_seg_fields(round_dir):
    img_path, root = round_dir
    results = LoadImageFromFile()(dict(img_path=img_path))
    results['seg_fields'] = ['gt_seg_map']
    out = LoadPseudoLabel(root)(results)
    assert out['seg_fields'] == ['gt_seg_map']  # no duplicate
    assert 'gt_confidence' not in out and 'gt_negative_mask' not in out


@pytest.mark.parametrize('seed', range(6))
def test_pipeline_keeps_maps_aligned(round_dir, mmseg_scope, seed):
    """RandomResize x2 + RandomCrop(cat_max_ratio) + RandomFlip(prob=1)."""
    img_path, root = round_dir
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='LoadPseudoLabel', with_confidence=True,
             with_negative=True),
        # nearest for the image too, so every pixel keeps its coordinates
        dict(type='RandomResize', scale=(W, H), ratio_range=(2.0, 2.0),
             keep_ratio=True, interpolation='nearest'),
        dict(type='RandomCrop', crop_size=(16, 24), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=1.0),
        dict(type='PackSegInputsWithExtras'),
    ])
    # what PseudoLabelHook does at a round boundary
    loaders = [t for t in pipeline.transforms
               if isinstance(t, LoadPseudoLabel)]
    assert len(loaders) == 1 and loaders[0].pseudo_label_dir is None
    loaders[0].pseudo_label_dir = root

    np.random.seed(seed)
    packed = pipeline(dict(img_path=img_path))
    img = packed['inputs'].numpy()
    sample = packed['data_samples']
    assert img.shape == (3, 16, 24)
    y, x = img[0].astype(int), img[1].astype(int)
    # horizontally flipped: x decreases along each row; resized x2: pairs
    assert (np.diff(x, axis=1) <= 0).all() and (np.diff(x, axis=1) < 0).any()
    assert interior_runs(x[0]) == {2} and interior_runs(y[:, 0]) == {2}
    label = sample.gt_sem_seg.data.numpy()[0]
    np.testing.assert_array_equal(label, label_of(y, x))
    conf = sample.gt_confidence.data
    assert tuple(conf.shape) == (1, 16, 24) and conf.dtype.is_floating_point
    np.testing.assert_array_equal(
        np.round(conf.numpy()[0] * 65535).astype(np.uint16), conf_code(y, x))
    neg = sample.gt_negative_mask.data
    assert tuple(neg.shape) == (C, 16, 24) and str(neg.dtype) == 'torch.bool'
    np.testing.assert_array_equal(neg.numpy().transpose(1, 2, 0),
                                  negative_of(y, x))
    assert sample.flip and sample.img_shape == (16, 24)


def test_pack_without_extras_matches_pack_seg_inputs(round_dir):
    img_path, root = round_dir
    results = load(img_path, LoadPseudoLabel(root))
    ours = PackSegInputsWithExtras()(dict(results))
    theirs = PackSegInputs()(dict(results))
    assert (ours['inputs'] == theirs['inputs']).all()
    assert (ours['data_samples'].gt_sem_seg.data ==
            theirs['data_samples'].gt_sem_seg.data).all()
    assert 'gt_confidence' not in ours['data_samples']
    assert 'gt_negative_mask' not in ours['data_samples']


def test_pack_rejects_field_left_out_of_seg_fields(round_dir):
    img_path, root = round_dir
    results = load(img_path, LoadPseudoLabel(root, with_confidence=True))
    results['seg_fields'].remove('gt_confidence')
    results = RandomCrop((8, 8))(results)
    with pytest.raises(ValueError, match="add 'gt_confidence' to results"):
        PackSegInputsWithExtras()(results)


def test_error_without_dir(round_dir):
    img_path, _ = round_dir
    with pytest.raises(RuntimeError,
                       match='no pseudo labels yet: add PseudoLabelHook to '
                       'custom_hooks'):
        load(img_path, LoadPseudoLabel())


def test_error_missing_file_names_path(round_dir):
    img_path, root = round_dir
    os.remove(os.path.join(root, 'labels', f'{STEM}.png'))
    with pytest.raises(FileNotFoundError) as err:
        load(img_path, LoadPseudoLabel(root))
    assert os.path.join(root, 'labels', f'{STEM}.png') in str(err.value)


def test_error_size_mismatch_names_sizes_and_file(round_dir):
    img_path, root = round_dir
    path = os.path.join(root, 'confidence', f'{STEM}.png')
    cv2.imwrite(path, np.zeros((10, 14), np.uint16))
    with pytest.raises(ValueError) as err:
        load(img_path, LoadPseudoLabel(root, with_confidence=True))
    msg = str(err.value)
    assert path in msg and '10x14' in msg and f'{H}x{W}' in msg


def test_error_wrong_confidence_dtype(round_dir):
    img_path, root = round_dir
    path = os.path.join(root, 'confidence', f'{STEM}.png')
    cv2.imwrite(path, np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match='uint16'):
        load(img_path, LoadPseudoLabel(root, with_confidence=True))


def test_error_negative_missing_key(round_dir):
    img_path, root = round_dir
    path = os.path.join(root, 'negative', f'{STEM}.npz')
    np.savez(path, mask=np.zeros((H, W, 1), np.uint8))
    with pytest.raises(KeyError) as err:
        load(img_path, LoadPseudoLabel(root, with_negative=True))
    assert path in str(err.value) and "'bits'" in str(err.value)


def test_repr():
    assert 'pseudo_label_dir=None' in repr(LoadPseudoLabel())
