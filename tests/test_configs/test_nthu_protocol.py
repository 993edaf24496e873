"""The NTHU configs score the papers' protocol: 13 classes, no merging."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

import mmseg_sfda  # noqa: F401  (registers SubsetIoUMetric)
from mmseg.registry import METRICS
from mmseg_sfda.utils.class_maps import CITYSCAPES_CLASSES

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROAD, BUILDING, WALL = 0, 2, 3
# 4 road and 4 building pixels; one building pixel predicted as wall
LABEL = np.array([[ROAD] * 4, [BUILDING] * 4])
PRED = np.array([[ROAD] * 4, [BUILDING] * 3 + [WALL]])


def score(evaluator: dict) -> dict:
    metric = METRICS.build(evaluator)
    metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    metric.accumulate(PRED, LABEL)
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('name', ['nthu_val_1024x512', 'nthu_val_512x256'])
def test_building_predicted_as_wall_is_an_error(name):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', f'{name}.py'))
    assert 'merge' not in cfg.val_evaluator
    assert cfg.test_evaluator == cfg.val_evaluator
    # road IoU 1, building IoU 3/4 (wall is not one of the 13 classes)
    assert score(cfg.val_evaluator)['mIoU13'] == 87.5
    # the lenient merge (a named option) scores the wall pixel as building
    lenient = dict(cfg.val_evaluator, merge='nthu')
    assert score(lenient)['mIoU13'] == 100.0
