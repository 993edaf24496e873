"""RareClassCrop: CBST rare-class crop mining."""
import json
import os

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose

from mmseg.datasets.transforms import RandomCrop
from mmseg_sfda.datasets.transforms import rare_class_crop as rcc
from mmseg_sfda.datasets.transforms.load_pseudo_label import LoadPseudoLabel
from mmseg_sfda.datasets.transforms.rare_class_crop import RareClassCrop

H, W, CROP = 64, 80, (16, 16)
RARE = 3  # predicted on 0.05% of the target pixels
FRACTION = [0.6, 0.3, 0.0995, 0.0005, 0.0]


def write_stats(root, fraction=FRACTION) -> str:
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'class_stats.json'), 'w') as f:
        json.dump(dict(num_classes=len(fraction), pixel_fraction=fraction,
                       thresholds=[0.9] * len(fraction), round=1), f)
    return str(root)


def make_results(root, blob=((50, 52), (5, 7)), with_rare=True) -> dict:
    """Image encoding (y, x), class 0/1 halves and a tiny rare blob."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([yy, xx, np.zeros_like(yy)], -1).astype(np.uint8)
    label = np.where(xx < W // 2, 0, 1).astype(np.uint8)
    label[:4, :4] = 255
    if with_rare:
        (y1, y2), (x1, x2) = blob
        label[y1:y2, x1:x2] = RARE
    conf = (yy * W + xx).astype(np.float32)
    return dict(img=img, gt_seg_map=label, gt_confidence=conf,
                seg_fields=['gt_seg_map', 'gt_confidence'],
                img_shape=(H, W), pseudo_label_dir=root)


def check_aligned(out: dict, crop=CROP) -> None:
    img = out['img']
    assert img.shape[:2] == crop and out['img_shape'] == crop
    y, x = img[..., 0].astype(int), img[..., 1].astype(int)
    # a contiguous window of the original image
    assert (np.diff(y, axis=0) == 1).all() and (np.diff(x, axis=1) == 1).all()
    np.testing.assert_array_equal(out['gt_confidence'], y * W + x)


@pytest.mark.parametrize('blob', [((50, 52), (5, 7)), ((62, 64), (78, 80)),
                                  ((0, 1), (40, 41))],
                         ids=['inside', 'corner', 'top-edge'])
def test_prob_one_always_contains_rare_blob(tmp_path, blob):
    root = write_stats(tmp_path / 'round_1')
    crop = RareClassCrop(CROP, prob=1.0)
    np.random.seed(0)
    for _ in range(40):
        out = crop(make_results(root, blob))
        assert (out['gt_seg_map'] == RARE).any()
        check_aligned(out)


def test_no_rare_class_present_is_random_crop(tmp_path):
    """Same draws as mmseg's RandomCrop, and offsets spread over the image."""
    root = write_stats(tmp_path / 'round_1')
    ours, theirs = RareClassCrop(CROP, prob=1.0), RandomCrop(CROP)
    starts = []
    for seed in range(60):
        np.random.seed(seed)
        out = ours(make_results(root, with_rare=False))
        np.random.seed(seed)
        ref = theirs(make_results(root, with_rare=False))
        np.testing.assert_array_equal(out['img'], ref['img'])
        np.testing.assert_array_equal(out['gt_confidence'],
                                      ref['gt_confidence'])
        check_aligned(out)
        starts.append((out['img'][0, 0, 0], out['img'][0, 0, 1]))
    ys, xs = zip(*starts)
    assert min(ys) < 10 and max(ys) > H - CROP[0] - 10
    assert min(xs) < 10 and max(xs) > W - CROP[1] - 10


def test_prob_zero_never_mines(tmp_path):
    root = write_stats(tmp_path / 'round_1')
    np.random.seed(3)
    hits = sum((RareClassCrop(CROP, prob=0.0)(make_results(root))
                ['gt_seg_map'] == RARE).any() for _ in range(40))
    assert hits < 10  # a 2x2 blob in a 64x80 image: rarely hit at random


def test_threshold_decides_rarity(tmp_path):
    root = write_stats(tmp_path / 'round_1')
    assert RareClassCrop(CROP).rare_classes(root).tolist() == [3, 4]
    assert RareClassCrop(CROP, rare_threshold=0.1).rare_classes(
        root).tolist() == [2, 3, 4]
    assert RareClassCrop(CROP, rare_threshold=0.0).rare_classes(
        root).tolist() == []


def test_crop_larger_than_image_keeps_whole_image(tmp_path):
    root = write_stats(tmp_path / 'round_1')
    out = RareClassCrop((100, 200), prob=1.0)(make_results(root))
    check_aligned(out, crop=(H, W))


def test_stats_cached_per_file_and_reread_when_changed(tmp_path, monkeypatch):
    reads = []
    real = rcc._read_pixel_fraction
    monkeypatch.setattr(rcc, '_read_pixel_fraction',
                        lambda path: reads.append(path) or real(path))
    root = write_stats(tmp_path / 'round_1')
    crop = RareClassCrop(CROP, prob=1.0)
    for _ in range(5):
        crop(make_results(root))
    assert len(reads) == 1
    # a new round directory is read once too
    root2 = write_stats(tmp_path / 'round_2', [0.5, 0.2, 0.2, 0.1, 0.0])
    crop(make_results(root2))
    crop(make_results(root2))
    assert len(reads) == 2
    assert crop.rare_classes(root2).tolist() == [4]
    # rewriting a round's stats in place is noticed
    write_stats(root, [0.5, 0.2, 0.2, 0.1, 0.0])
    st = os.stat(os.path.join(root, 'class_stats.json'))
    os.utime(os.path.join(root, 'class_stats.json'),
             ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert crop.rare_classes(root).tolist() == [4]
    assert len(reads) == 3


def test_in_pipeline_after_load_pseudo_label(tmp_path, mmseg_scope):
    results = make_results(None)
    root = write_stats(tmp_path / 'round_1')
    os.makedirs(os.path.join(root, 'labels'))
    img_path = str(tmp_path / 'a.png')
    cv2.imwrite(img_path, results['img'])
    cv2.imwrite(os.path.join(root, 'labels', 'a.png'), results['gt_seg_map'])
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='LoadPseudoLabel'),
        dict(type='RareClassCrop', crop_size=16, prob=1.0),
    ])
    for t in pipeline.transforms:
        if isinstance(t, LoadPseudoLabel):
            t.pseudo_label_dir = root
    np.random.seed(1)
    for _ in range(10):
        out = pipeline(dict(img_path=img_path))
        assert out['img'].shape[:2] == (16, 16)
        assert (out['gt_seg_map'] == RARE).any()


def test_error_without_pseudo_label_dir():
    results = make_results(None)
    del results['pseudo_label_dir']
    with pytest.raises(KeyError, match='put LoadPseudoLabel'):
        RareClassCrop(CROP)(results)


def test_error_without_class_stats(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        RareClassCrop(CROP)(make_results(str(tmp_path)))
    assert os.path.join(str(tmp_path), 'class_stats.json') in str(err.value)


def test_error_bad_class_stats(tmp_path):
    path = tmp_path / 'class_stats.json'
    path.write_text(json.dumps(dict(num_classes=5, thresholds=[])))
    with pytest.raises(KeyError, match="no 'pixel_fraction'"):
        RareClassCrop(CROP)(make_results(str(tmp_path)))
    path.write_text(json.dumps(dict(num_classes=4, pixel_fraction=FRACTION)))
    with pytest.raises(ValueError, match='5 entries but num_classes is 4'):
        RareClassCrop(CROP)(make_results(str(tmp_path)))


def test_bad_arguments():
    with pytest.raises(ValueError, match='crop_size'):
        RareClassCrop((16, 0))
    with pytest.raises(ValueError, match='prob'):
        RareClassCrop(16, prob=1.5)
