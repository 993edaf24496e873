"""CBST spatial priors: counting, smoothing, normalisation, files."""
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.pseudo_labels.spatial_priors import (compute_spatial_priors,
                                             count_class_pixels,
                                             default_sigma,
                                             gaussian_kernel_1d,
                                             load_spatial_priors,
                                             save_spatial_priors)

# three 2x3 train-ID labels, 3 classes, 255 = ignore
LABELS = [
    np.array([[0, 0, 1], [2, 255, 1]], np.uint8),
    np.array([[0, 1, 1], [2, 2, 255]], np.uint8),
    np.array([[0, 0, 0], [255, 2, 1]], np.uint8),
]
# counts[c, y, x] by hand
COUNTS = np.array([
    [[3, 2, 1], [0, 0, 0]],   # class 0
    [[0, 1, 2], [0, 0, 2]],   # class 1
    [[0, 0, 0], [2, 2, 0]],   # class 2
])


def write_labels(folder, labels) -> list:
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, lab in enumerate(labels):
        path = os.path.join(str(folder), f'{i:05d}_labelTrainIds.png')
        Image.fromarray(lab).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def label_files(tmp_path):
    return write_labels(tmp_path / 'labels', LABELS)


def test_counts_by_hand(label_files):
    counts = count_class_pixels(label_files, 3, show_progress=False)
    assert counts.dtype == np.int64 and counts.shape == (3, 2, 3)
    np.testing.assert_array_equal(counts, COUNTS)


def test_counts_resized_nearest(label_files):
    counts = count_class_pixels(label_files, 3, size=(4, 6),
                                show_progress=False)
    np.testing.assert_array_equal(
        counts, COUNTS.repeat(2, axis=1).repeat(2, axis=2))


def test_counts_with_lut(tmp_path):
    raw = [np.array([[7, 8], [9, 0]], np.uint8)]
    files = write_labels(tmp_path, raw)
    lut = np.full(256, 255, np.uint8)
    lut[7], lut[8], lut[9] = 1, 0, 1
    counts = count_class_pixels(files, 2, lut=lut, show_progress=False)
    np.testing.assert_array_equal(counts[0], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(counts[1], [[1, 0], [1, 0]])


def test_kernel_one_class_normalisation(label_files):
    """Paper (Sec. 4.4): sum over pixels n of q_n(c) = 1 for every class."""
    priors = compute_spatial_priors(label_files, 3, kernel_size=1,
                                    show_progress=False)
    assert priors.dtype == np.float32 and priors.shape == (3, 2, 3)
    expected = COUNTS / COUNTS.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(priors, expected, rtol=1e-6)
    np.testing.assert_allclose(priors.sum(axis=(1, 2)), 1.0, rtol=1e-6)
    assert priors[0, 0, 0] == pytest.approx(3 / 6)  # 3 of class 0's 6 px


def test_kernel_one_pixel_normalisation(label_files):
    priors = compute_spatial_priors(label_files, 3, kernel_size=1,
                                    normalize='pixel', show_progress=False)
    np.testing.assert_allclose(priors.sum(0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(priors[:, 1, 1], [0, 0, 1])  # 2 x class 2
    np.testing.assert_allclose(priors[:, 0, 1], [2 / 3, 1 / 3, 0], rtol=1e-6)


def test_kernel_one_none_is_counts(label_files):
    priors = compute_spatial_priors(label_files, 3, kernel_size=1,
                                    normalize='none', show_progress=False)
    np.testing.assert_array_equal(priors, COUNTS)


def test_unseen_class_and_unlabelled_pixel_are_uniform(label_files):
    with pytest.warns(UserWarning, match=r'classes \[3\] never occur'):
        priors = compute_spatial_priors(label_files, 4, kernel_size=1,
                                        show_progress=False)
    np.testing.assert_allclose(priors[3], 1 / 6)
    files = label_files + write_labels(
        os.path.dirname(label_files[0]) + '_x',
        [np.full((2, 3), 255, np.uint8)])
    priors = compute_spatial_priors(
        [files[-1], files[-1]], 3, kernel_size=1, normalize='pixel',
        show_progress=False)
    np.testing.assert_allclose(priors, 1 / 3)


@pytest.mark.parametrize('kernel_size,sigma', [(5, 1.2), (9, None),
                                               (15, 3.0)])
def test_smoothing_matches_opencv(tmp_path, kernel_size, sigma):
    """Counts smoothed as cv2.GaussianBlur (reflect borders) would."""
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 4, (12, 15)).astype(np.uint8) for _ in range(3)]
    labels[0][:3, :5] = 255
    files = write_labels(tmp_path, labels)
    counts = count_class_pixels(files, 4, show_progress=False)
    priors = compute_spatial_priors(files, 4, kernel_size=kernel_size,
                                    sigma=sigma, show_progress=False)
    # explicit sigma: OpenCV rounds its sigma=0 kernels of size <= 9
    cv_sigma = default_sigma(kernel_size) if sigma is None else sigma
    for c in range(4):
        blurred = cv2.GaussianBlur(counts[c].astype(np.float64),
                                   (kernel_size, kernel_size), cv_sigma,
                                   borderType=cv2.BORDER_REFLECT)
        np.testing.assert_allclose(priors[c], blurred / blurred.sum(),
                                   rtol=1e-5)


@pytest.mark.parametrize('kernel_size', [11, 21, 71])
def test_default_sigma_is_opencvs(kernel_size):
    np.testing.assert_allclose(gaussian_kernel_1d(kernel_size),
                               cv2.getGaussianKernel(kernel_size, 0).ravel(),
                               atol=1e-12)
    assert default_sigma(70) == pytest.approx(10.85)


def test_default_kernel_on_tiny_labels(label_files):
    priors = compute_spatial_priors(label_files, 3, show_progress=False)
    np.testing.assert_allclose(priors.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert (priors > 0).all()  # a 70 px kernel spreads over everything


def test_value_outside_classes_names_file(tmp_path):
    files = write_labels(tmp_path, [np.array([[0, 19]], np.uint8)])
    with pytest.raises(ValueError) as err:
        count_class_pixels(files, 19, show_progress=False)
    assert files[0] in str(err.value) and '[19]' in str(err.value)


def test_rgb_label_rejected(tmp_path):
    path = str(tmp_path / 'rgb.png')
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match="mode 'RGB'"):
        count_class_pixels([path], 3, show_progress=False)


@pytest.mark.parametrize('name', ['priors.npz', 'priors.npy'])
def test_save_load_round_trip(tmp_path, label_files, name):
    priors = compute_spatial_priors(label_files, 3, kernel_size=1,
                                    show_progress=False)
    path = str(tmp_path / 'out' / name)
    meta = dict(kernel_size=1, source='labels/')
    assert save_spatial_priors(path, priors, meta) == path
    assert os.listdir(tmp_path / 'out') == [name]  # no temp file left
    loaded, got_meta = load_spatial_priors(path, num_classes=3,
                                           with_meta=True)
    np.testing.assert_array_equal(loaded, priors)
    assert loaded.dtype == np.float32
    if name.endswith('.npz'):
        assert got_meta == dict(kernel_size=1, source='labels/',
                                num_classes=3, size=[2, 3])
    else:
        assert got_meta == {}
    np.testing.assert_array_equal(load_spatial_priors(path), priors)


def test_load_class_mismatch_error(tmp_path):
    path = str(tmp_path / 'p.npz')
    save_spatial_priors(path, np.full((16, 2, 3), 1 / 6, np.float32))
    with pytest.raises(ValueError) as err:
        load_spatial_priors(path, num_classes=19)
    msg = str(err.value)
    assert path in msg and '16 classes' in msg and '19' in msg
    assert 'compute_spatial_priors.py' in msg


def test_load_missing_file_names_tool(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='tools/compute_spatial_priors.py'):
        load_spatial_priors(str(tmp_path / 'nope.npz'))


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r'\(C, h, w\)'):
        save_spatial_priors(str(tmp_path / 'p.npz'), np.zeros((2, 3)))
    with pytest.raises(ValueError, match='.npz'):
        save_spatial_priors(str(tmp_path / 'p.pkl'), np.zeros((1, 2, 3)))
