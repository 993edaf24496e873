import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from PIL import Image

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from mmseg_sfda.utils.class_maps import (CITYSCAPES_CLASSES, NTHU_MERGE,
                                            SUBSET_13, SUBSET_16)
from mmseg_sfda.evaluation.metrics import SubsetIoUMetric, iou_from_confusion
from mmseg_sfda.evaluation.metrics.subset_iou_metric import (
    acc_from_confusion, confusion_matrix)

# 3-class toy example (last pixel ignored). (gt, pred) pairs:
# (0,0) (0,0) (0,1) (1,1) (1,2) (2,2) (2,2) (2,0)
LABEL3 = np.array([0, 0, 0, 1, 1, 2, 2, 2, 255])
PRED3 = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1])
# rows = ground truth, cols = prediction
CONF3 = np.array([[2, 1, 0],
                  [0, 1, 1],
                  [1, 0, 2]])
# IoU = TP / (TP + FP + FN): 2/(2+1+1), 1/(1+1+1), 2/(2+1+1)
IOU3 = np.array([2 / 4, 1 / 3, 2 / 4])
# Acc = TP / (TP + FN): 2/3, 1/2, 2/3
ACC3 = np.array([2 / 3, 1 / 2, 2 / 3])


def _sample(pred, label) -> SegDataSample:
    """Data sample as produced by a segmentor's predict (dict-like)."""
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None].long())
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(label)[None].long())
    return sample


def _evaluate(metric, pairs, classes=None) -> dict:
    """Run process() per image then evaluate(), like mmengine's loop."""
    if classes is not None:
        metric.dataset_meta = dict(classes=classes)
    for pred, label in pairs:
        metric.process({}, [_sample(pred, label).to_dict()])
    return metric.evaluate(len(pairs))


def test_confusion_matrix_by_hand():
    conf = confusion_matrix(PRED3, LABEL3, 3, ignore_index=255)
    np.testing.assert_array_equal(conf, CONF3)


def test_iou_and_acc_from_confusion_by_hand():
    np.testing.assert_allclose(iou_from_confusion(CONF3), IOU3)
    np.testing.assert_allclose(acc_from_confusion(CONF3), ACC3)
    # class 2 absent from prediction and label -> NaN, not 0
    conf = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    iou = iou_from_confusion(conf)
    np.testing.assert_allclose(iou[:2], [3 / 4, 2 / 3])
    assert math.isnan(iou[2])


def test_metric_values_and_subsets():
    metric = SubsetIoUMetric(
        num_classes=3, subsets=dict(mIoU='all', mIoU02=[0, 2], only1=[1]))
    res = _evaluate(metric, [(PRED3.reshape(3, 3), LABEL3.reshape(3, 3))])
    assert res['aAcc'] == 62.5  # 5 correct of 8 counted pixels
    assert res['mIoU'] == round((0.5 + 1 / 3 + 0.5) / 3 * 100, 2) == 44.44
    assert res['mAcc'] == round((2 / 3 + 1 / 2 + 2 / 3) / 3 * 100, 2)
    assert res['mIoU02'] == 50.0
    assert res['mAcc02'] == 66.67
    assert res['only1'] == 33.33
    assert res['only1_mAcc'] == 50.0
    assert set(res) == {'aAcc', 'mIoU', 'mAcc', 'mIoU02', 'mAcc02', 'only1',
                        'only1_mAcc'}


def test_absent_class_is_nan_and_excluded():
    # class 3 never in pred nor label: excluded from the mean (mmseg rule)
    metric = SubsetIoUMetric(
        num_classes=4, subsets=dict(mIoU='all', absent=[3]))
    res = _evaluate(metric, [(PRED3, LABEL3)])
    assert res['mIoU'] == 44.44
    assert math.isnan(res['absent'])
    # nan_to_num=0 counts it as 0 like mmseg's option
    metric = SubsetIoUMetric(num_classes=4, nan_to_num=0)
    res = _evaluate(metric, [(PRED3, LABEL3)])
    assert res['mIoU'] == round((0.5 + 1 / 3 + 0.5) / 4 * 100, 2)


def test_ignore_index_excluded():
    label = np.array([[0, 1], [255, 255]])
    pred = np.array([[0, 1], [1, 255]])  # garbage under ignored pixels
    metric = SubsetIoUMetric(num_classes=2)
    res = _evaluate(metric, [(pred, label)])
    assert res == dict(aAcc=100.0, mIoU=100.0, mAcc=100.0)
    # a custom ignore index
    metric = SubsetIoUMetric(num_classes=3, ignore_index=2)
    res = _evaluate(metric, [(np.array([0, 1, 0]), np.array([0, 1, 2]))])
    assert res['mIoU'] == 100.0


def test_named_subsets_and_default_names():
    metric = SubsetIoUMetric(
        subsets=dict(mIoU19='all', mIoU16='16', mIoU13='13'))
    metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    ids = metric.subset_ids()
    assert ids['mIoU19'] == tuple(range(19))
    assert ids['mIoU16'] == SUBSET_16 and ids['mIoU13'] == SUBSET_13
    # subsets computed from one matrix agree with hand-selected means
    rng = np.random.default_rng(0)
    label = rng.integers(0, 19, size=(40, 40))
    pred = np.where(rng.random((40, 40)) < 0.6, label,
                    rng.integers(0, 19, size=(40, 40)))
    res = _evaluate(metric, [(pred, label)])
    iou = iou_from_confusion(confusion_matrix(pred, label, 19))
    for name, sub in [('mIoU19', range(19)), ('mIoU16', SUBSET_16),
                      ('mIoU13', SUBSET_13)]:
        assert res[name] == round(np.nanmean(iou[list(sub)]) * 100, 2)


def test_nthu_merge():
    # (gt, pred): building/pole, car/truck, terrain/vegetation, road/road,
    # wall/building, sidewalk/road
    label = np.array([2, 13, 9, 0, 3, 1])
    pred = np.array([5, 14, 8, 0, 2, 0])
    metric = SubsetIoUMetric(subsets=dict(mIoU13='13'), merge='nthu')
    res = _evaluate(metric, [(pred, label)], CITYSCAPES_CLASSES)
    # after merge only sidewalk->road is wrong: road 1/2, sidewalk 0,
    # building 1, vegetation 1, car 1; other classes of SUBSET_13 absent.
    assert res['aAcc'] == 83.33
    assert res['mIoU13'] == 70.0
    # without merge every pair but road/road is wrong
    metric = SubsetIoUMetric(subsets=dict(mIoU13='13'))
    res = _evaluate(metric, [(pred, label)], CITYSCAPES_CLASSES)
    assert res['aAcc'] == 16.67
    assert res['mIoU13'] == 10.0  # road 0.5; sidewalk/building/veg/car 0


def test_merge_drops_merged_classes_from_all():
    metric = SubsetIoUMetric(merge=NTHU_MERGE, num_classes=19)
    ids = metric.subset_ids()['mIoU']
    assert set(ids) == set(range(19)) - set(NTHU_MERGE)
    assert len(ids) == 14  # 13 classes + train


def test_multi_image_accumulation_equals_one_big_image():
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(5):
        label = rng.integers(0, 6, size=(7, 9))
        label[rng.random((7, 9)) < 0.2] = 255
        pred = np.where(rng.random((7, 9)) < 0.5, label % 6,
                        rng.integers(0, 6, size=(7, 9)))
        pairs.append((pred, label))
    kwargs = dict(num_classes=6, subsets=dict(mIoU='all', mIoU3=[0, 1, 2]))
    res_many = _evaluate(SubsetIoUMetric(**kwargs), pairs)
    big = (np.concatenate([p for p, _ in pairs], axis=1),
           np.concatenate([lb for _, lb in pairs], axis=1))
    res_one = _evaluate(SubsetIoUMetric(**kwargs), [big])
    assert res_many == res_one
    # memory: a single accumulated matrix, whatever the number of images
    metric = SubsetIoUMetric(**kwargs)
    for pred, label in pairs:
        metric.process({}, [_sample(pred, label).to_dict()])
    assert len(metric.results) == 1 and metric.results[0].shape == (6, 6)


def test_matches_mmseg_iou_metric_on_random_data():
    rng = np.random.default_rng(2)
    classes = tuple(f'c{i}' for i in range(8))
    pairs = []
    for _ in range(4):
        label = rng.integers(0, 7, size=(16, 12))  # class 7 never labelled
        label[rng.random((16, 12)) < 0.1] = 255
        pred = np.where(rng.random((16, 12)) < 0.4, label % 7,
                        rng.integers(0, 7, size=(16, 12)))
        pairs.append((pred, label))
    ours = _evaluate(SubsetIoUMetric(), pairs, classes)
    ref = _evaluate(IoUMetric(iou_metrics=['mIoU']), pairs, classes)
    assert set(ours) == set(ref) == {'aAcc', 'mIoU', 'mAcc'}
    for key in ref:
        # mmseg works in float32, so its rounded value is float32(x.yz)
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-4), key


def test_registry_build():
    metric = METRICS.build(
        dict(type='SubsetIoUMetric', subsets=dict(mIoU16='16'), merge=None))
    assert isinstance(metric, SubsetIoUMetric)


@pytest.mark.parametrize('kwargs, match', [
    (dict(subsets=dict(mIoU=[0, 25]), num_classes=19), r"subsets\['mIoU'\]"),
    (dict(subsets=dict(mIoU=[0, -1]), num_classes=19), r'\[-1\]'),
    (dict(subsets=dict(mIoU='foo')), "'foo'"),
    (dict(subsets=dict(mIoU=[0, 0])), 'duplicate'),
    (dict(subsets=dict(mIoU=[0.5])), r'\[0.5\]'),
    (dict(subsets=dict(mIoU=[])), 'non-empty'),
    (dict(subsets=dict(mAcc='all', mIoU='13')), 'clashing'),
    (dict(merge='gta'), "'gta'"),
    (dict(merge={3: 2, 2: 1}), 'merged themselves'),
    (dict(merge={30: 2}, num_classes=19), '30: 2'),
    (dict(merge='nthu', subsets=dict(m=[2, 3]), num_classes=19), r'\[3\]'),
    (dict(iou_metrics=['mDice']), 'mDice'),
    (dict(num_classes=0), 'num_classes'),
])
def test_bad_config_values_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SubsetIoUMetric(**kwargs)


def test_ids_checked_against_dataset_meta():
    metric = SubsetIoUMetric(subsets=dict(mIoU16='16'))
    with pytest.raises(ValueError, match=r"subsets\['mIoU16'\]"):
        metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric = SubsetIoUMetric(num_classes=3)
    with pytest.raises(ValueError, match='num_classes=3'):
        metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)


def test_out_of_range_prediction_raises():
    metric = SubsetIoUMetric(num_classes=3)
    with pytest.raises(ValueError, match='prediction value 7'):
        metric.accumulate(np.array([0, 7]), np.array([0, 1]))


def _named_sample(pred, label, name: str, reduce_zero_label: bool = False) -> dict:
    sample = _sample(pred, label)
    sample.set_metainfo(dict(img_path=f'/data/{name}.jpg',
                             reduce_zero_label=reduce_zero_label))
    return sample.to_dict()


@pytest.mark.parametrize('reduce_zero_label', [False, True])
def test_output_dir_writes_predictions_like_iou_metric(tmp_path, reduce_zero_label):
    """``tools/test.py --out`` (mmseg's sets keep_results too): the same PNGs as IoUMetric,
    and the metrics still computed."""
    pred = np.array([[0, 1], [2, 1]])
    label = np.array([[0, 1], [2, 2]])
    ours, stock = tmp_path / 'ours', tmp_path / 'stock'
    metric = SubsetIoUMetric(output_dir=str(ours), keep_results=True)
    iou = IoUMetric(output_dir=str(stock))
    for m in (metric, iou):
        m.dataset_meta = dict(classes=('a', 'b', 'c'))
        m.process({}, [_named_sample(pred, label, 'img_0', reduce_zero_label)])
    result = metric.evaluate(1)
    assert result['mIoU'] == iou.evaluate(1)['mIoU']
    written = np.array(Image.open(ours / 'img_0.png'))
    np.testing.assert_array_equal(written, np.array(Image.open(stock / 'img_0.png')))
    np.testing.assert_array_equal(written, pred + int(reduce_zero_label))


def test_format_only_needs_no_labels_and_returns_no_metrics(tmp_path):
    metric = SubsetIoUMetric(output_dir=str(tmp_path), format_only=True)
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    sample = SegDataSample(metainfo=dict(img_path='/data/x.png'))
    sample.pred_sem_seg = PixelData(data=torch.tensor([[[2, 0], [1, 1]]]))
    metric.process({}, [sample.to_dict()])
    assert metric.evaluate(1) == {}
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / 'x.png')),
                                  [[2, 0], [1, 1]])


def test_format_only_without_output_dir_names_the_fix():
    with pytest.raises(ValueError, match='output_dir'):
        SubsetIoUMetric(format_only=True)
