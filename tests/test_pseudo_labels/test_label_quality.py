"""Pseudo-label quality against ground truth: hand-counted confusion, per-class shares,
the tool's table and its errors."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from mmseg_sfda.pseudo_labels.label_quality import (class_quality, label_confusion,
                                                    match_ground_truth)
from mmseg_sfda.utils.bad_input import BadInputError
from mmseg_sfda.utils.pseudo_label_io import LABELS, round_file, write_label

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IGN = 255


def _tool():
    spec = importlib.util.spec_from_file_location(
        'pseudo_label_quality', osp.join(REPO, 'tools', 'analysis', 'pseudo_label_quality.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _round(tmp_path):
    """One image a: gt [[0,0,1],[1,2,IGN]], label [[0,IGN,1],[0,IGN,2]]."""
    round_dir, gt_dir = str(tmp_path / 'round_0'), tmp_path / 'gt' / 'city'
    gt = np.array([[0, 0, 1], [1, 2, IGN]], np.uint8)
    label = np.array([[0, IGN, 1], [0, IGN, 2]], np.uint8)
    write_label(round_file(round_dir, LABELS, 'a_leftImg8bit'), label)
    write_label(str(gt_dir / 'a_gtFine_labelTrainIds.png'), gt)
    write_label(str(gt_dir / 'b_gtFine_labelTrainIds.png'), gt)  # never labelled
    return round_dir, str(tmp_path / 'gt')


def test_confusion_and_shares_by_hand(tmp_path):
    round_dir, gt_root = _round(tmp_path)
    gt_files = [osp.join(gt_root, 'city', f'{n}_gtFine_labelTrainIds.png') for n in 'ab']
    pairs = match_ground_truth(round_dir, gt_files, '_leftImg8bit.png',
                               '_gtFine_labelTrainIds.png')
    assert [osp.basename(g) for _, g in pairs] == ['a_gtFine_labelTrainIds.png']
    conf = label_confusion(pairs, num_classes=3)
    # rows gt 0,1,2; columns label 0,1,2,none (the gt-ignored pixel is skipped)
    assert conf.tolist() == [[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 1]]
    q = class_quality(conf)
    assert q['pixels'].tolist() == [2, 2, 1]
    np.testing.assert_allclose(q['labelled'], [50, 100, 0])
    np.testing.assert_allclose(q['correct'], [50, 50, 0])
    np.testing.assert_allclose(q['precision'][:2], [50, 100])
    assert np.isnan(q['precision'][2])  # label 2 given only on an ignored pixel


def test_tool_prints_table_and_json(tmp_path, capsys):
    round_dir, gt_root = _round(tmp_path)
    out = str(tmp_path / 'q.json')
    assert _tool().main([round_dir, gt_root, '--out', out]) == 0
    text = capsys.readouterr().out
    assert '1 images of' in text and '60.0% of the pixels labelled, 40.0% correctly' in text
    with open(out) as f:
        got = json.load(f)
    assert got['road']['labelled'] == 50.0 and got['sidewalk']['precision'] == 100.0


def test_errors_name_the_fix(tmp_path, capsys):
    round_dir, gt_root = _round(tmp_path)
    assert _tool().main([str(tmp_path / 'nowhere'), gt_root]) == 2
    assert 'no pseudo label in' in capsys.readouterr().err
    bad = tmp_path / 'bad' / 'a_gtFine_labelTrainIds.png'
    write_label(str(bad), np.zeros((4, 4), np.uint8))
    with pytest.raises(BadInputError, match='give the ground truth of the images'):
        label_confusion([(round_file(round_dir, LABELS, 'a_leftImg8bit'), str(bad))], 3)
    write_label(str(bad), np.full((2, 3), 40, np.uint8))
    with pytest.raises(BadInputError, match='labelTrainIds'):
        label_confusion([(round_file(round_dir, LABELS, 'a_leftImg8bit'), str(bad))], 19)
