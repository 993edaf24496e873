"""Tests of the toy dataset writers and the make_toy_domains CLI: the files
must have exactly the real datasets' layouts and encodings (DATASETS.md)."""
import importlib.util
import os
import re
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.utils.class_maps import (CITYSCAPES_ID_TO_TRAINID,
                                            CITYSCAPES_PALETTE, IGNORE_INDEX,
                                            SYNTHIA_ID_TO_TRAINID, build_lut)
from mmseg_sfda.toy.layouts import (GTA5_MISMATCH_EVERY,
                                          GTA5_MISMATCH_SHRINK, ToyItem,
                                          item_files, layout_style,
                                          train_to_synthia_id, write_cityscapes,
                                          write_gta5, write_item, write_nthu,
                                          write_synthia)
from mmseg_sfda.toy.scenes import render, scene_rng

H, W = 64, 128
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABELID_LUT = build_lut(CITYSCAPES_ID_TO_TRAINID)
SYNTHIA_LUT = build_lut(SYNTHIA_ID_TO_TRAINID)


def _items(layout, n, split='train', city='', indices=None):
    style = layout_style(layout, 1.0, city)
    out = []
    for i in (indices if indices is not None else range(n)):
        s = render(scene_rng(0, f'{layout}{split}{city}', i), style, H, W)
        out.append(ToyItem(i, s.rgb, s.label, s.instance, split, city))
    return out


def _read_rgb(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _no_temp_files(root):
    for dirpath, _, files in os.walk(root):
        assert not [f for f in files if f.startswith('.') or f.endswith('.tmp')]


def test_gta5_palette_labels(tmp_path):
    root = str(tmp_path / 'gta5')
    mismatch = GTA5_MISMATCH_EVERY - 1
    items = _items('gta5', 0, indices=[0, 1, 2, mismatch])
    write_gta5(root, items)
    assert sorted(os.listdir(os.path.join(root, 'images'))) == [
        '00001.png', '00002.png', '00003.png', f'{mismatch + 1:05d}.png']
    for it in items:
        files = item_files('gta5', root, 'train', it.index)
        assert os.path.basename(files['label']) == os.path.basename(files['image'])
        np.testing.assert_array_equal(_read_rgb(files['image']), it.rgb)
        lab = Image.open(files['label'])
        assert lab.mode == 'P'
        ids = np.array(lab)
        pal = np.array(lab.getpalette()[:768]).reshape(-1, 3)
        for lid, tid in CITYSCAPES_ID_TO_TRAINID.items():  # label-ID colours
            assert tuple(pal[lid]) == tuple(CITYSCAPES_PALETTE[tid])
        if it.index == mismatch:  # a few pixels smaller, like real GTA5
            assert ids.shape == (H - GTA5_MISMATCH_SHRINK[0], W - GTA5_MISMATCH_SHRINK[1])
            continue
        assert ids.shape == (H, W)
        assert set(np.unique(ids)) <= set(CITYSCAPES_ID_TO_TRAINID) | {0}
        np.testing.assert_array_equal(LABELID_LUT[ids], it.label)
        # the trap: cv2 reads the palette colours, not the IDs
        assert not np.array_equal(cv2.imread(files['label'], cv2.IMREAD_UNCHANGED), ids)
    _no_temp_files(root)


def test_synthia_16bit_labels(tmp_path):
    root = str(tmp_path / 'synthia')
    items = _items('synthia', 3)
    write_synthia(root, items)
    for it in items:
        files = item_files('synthia', root, 'train', it.index)
        assert files['image'].endswith(os.path.join('RGB', f'{it.index:07d}.png'))
        gt = cv2.imread(files['label'], cv2.IMREAD_UNCHANGED)
        assert gt.dtype == np.uint16 and gt.shape == (H, W, 3)
        np.testing.assert_array_equal(SYNTHIA_LUT[gt[..., 2]], it.label)  # R = class
        np.testing.assert_array_equal(gt[..., 1], it.instance)  # G = instance
        assert not gt[..., 0].any()
        assert cv2.imread(files['color'], cv2.IMREAD_UNCHANGED).dtype == np.uint8
        np.testing.assert_array_equal(_read_rgb(files['image']), it.rgb)


def test_synthia_has_no_terrain_truck_train():
    style = layout_style('synthia')
    seen = set()
    for i in range(10):
        seen |= set(np.unique(render(scene_rng(0, 's', i), style, H, W).label).tolist())
    assert not seen & {9, 14, 16}
    lab = np.array([[9, 14, 16, 255, 0]], np.uint8)
    np.testing.assert_array_equal(train_to_synthia_id(lab), [[0, 0, 0, 0, 3]])


def test_cityscapes_names_and_maps(tmp_path):
    root = str(tmp_path / 'cityscapes')
    items = _items('cityscapes', 3) + _items('cityscapes', 2, split='val')
    write_cityscapes(root, items)
    imgs = []
    for dirpath, _, files in os.walk(os.path.join(root, 'leftImg8bit')):
        imgs += [os.path.join(dirpath, f) for f in files]
    assert len(imgs) == 5
    for img in imgs:
        rel = os.path.relpath(img, os.path.join(root, 'leftImg8bit'))
        split, city, name = rel.split(os.sep)
        assert split in ('train', 'val')
        assert re.fullmatch(rf'{city}_\d{{6}}_\d{{6}}_leftImg8bit\.png', name)
        # how mmseg's CityscapesDataset pairs image and label
        seg = os.path.join(root, 'gtFine', split, city,
                           name.replace('_leftImg8bit.png', '_gtFine_labelTrainIds.png'))
        assert os.path.exists(seg)
    for it in items:
        files = item_files('cityscapes', root, it.split, it.index)
        train_ids = np.array(Image.open(files['label']))
        np.testing.assert_array_equal(train_ids, it.label)
        label_ids = np.array(Image.open(files['label_ids']))
        np.testing.assert_array_equal(LABELID_LUT[label_ids], it.label)
        assert (label_ids[it.label == IGNORE_INDEX] == 1).all()  # ego vehicle


def test_nthu_layout_and_eval_label_ids(tmp_path):
    root = str(tmp_path / 'nthu')
    train = _items('nthu', 2, 'train', 'Rome')
    test = _items('nthu', 10, 'test', 'Rome')
    write_nthu(root, train + test)
    for name in os.listdir(os.path.join(root, 'Rome', 'Images', 'Train')):
        assert re.fullmatch(r'pano_\d{5}_\d_\d+\.jpg', name)
    test_dir = os.path.join(root, 'Rome', 'Images', 'Test')
    exts = {os.path.splitext(f)[1] for f in os.listdir(test_dir)}
    assert exts == {'.png', '.jpg'}
    for it in test:
        files = item_files('nthu', root, 'test', it.index, 'Rome')
        stem = os.path.splitext(os.path.basename(files['image']))[0]
        assert files['label'].endswith(os.path.join('Labels', 'Test', stem + '_eval.png'))
        ev = Image.open(files['label'])
        assert ev.mode == 'L'
        np.testing.assert_array_equal(LABELID_LUT[np.array(ev)], it.label)
        for role in ('color', 'visual'):  # distractors: colour renderings
            assert Image.open(files[role]).mode == 'RGB'
    _no_temp_files(root)


def test_write_item_keeps_existing_files(tmp_path):
    root = str(tmp_path / 'gta5')
    it = _items('gta5', 1)[0]
    assert len(write_item('gta5', root, it)) == 2
    img = item_files('gta5', root, 'train', 0)['image']
    os.remove(item_files('gta5', root, 'train', 0)['label'])
    mtime = os.stat(img).st_mtime_ns
    assert write_item('gta5', root, it, overwrite=False) == [
        item_files('gta5', root, 'train', 0)['label']]
    assert os.stat(img).st_mtime_ns == mtime


def _load_cli():
    path = os.path.join(REPO, 'tools', 'make_toy_domains.py')
    spec = importlib.util.spec_from_file_location('make_toy_domains', path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['make_toy_domains'] = mod  # so worker processes can pickle it
    spec.loader.exec_module(mod)
    return mod


def _snapshot(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, root)] = (fh.read(), os.stat(p).st_mtime_ns)
    return out


@pytest.mark.parametrize('nproc', [1, 2])
def test_cli_resumable_and_nproc_independent(tmp_path, capsys, nproc):
    cli = _load_cli()
    args = ['--seed', '1', '--height', '48', '--width', '96', '--num-source', '3',
            '--num-target-train', '2', '--num-target-val', '2',
            '--cities', 'Rome', 'Tokyo']
    out = str(tmp_path / 'toy')
    assert cli.main(['--out', out, '--nproc', str(nproc)] + args) == 0
    first = _snapshot(out)
    assert {p.split(os.sep)[0] for p in first} == {'gta5', 'synthia', 'cityscapes', 'nthu',
                                                    'toy_domains.json'}
    assert len([p for p in first if p.startswith('gta5')]) == 6
    assert len([p for p in first if p.endswith('_eval.png')]) == 4
    assert cli.main(['--out', out, '--nproc', str(nproc)] + args) == 0
    summary = capsys.readouterr().out
    assert ' 0 written' in summary and 'skipped' in summary
    assert _snapshot(out) == first  # nothing rewritten
    # same bytes whatever the number of processes
    ref = str(tmp_path / 'ref')
    cli.main(['--out', ref, '--nproc', '1', '--layouts', 'gta5', 'nthu'] + args)
    for rel, (data, _) in _snapshot(ref).items():
        assert first[rel][0] == data, rel
