"""SYNTHIA converter: 16-bit 3-channel labels, class ID in R -> train IDs."""
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.utils.class_maps import SYNTHIA_ID_TO_TRAINID
from mmseg_sfda.datasets.converters import common
from mmseg_sfda.datasets.converters.synthia import (convert_synthia,
                                                    read_synthia_label)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))

# SYNTHIA IDs: sky 1, building 2, road 3, sidewalk 4, car 8, void 0,
# 13 (known void), 300 (unknown, > 255).
CLASS_IDS = np.array([[3, 3, 4, 4, 2, 2],
                      [3, 3, 4, 4, 2, 2],
                      [1, 1, 8, 8, 0, 13],
                      [1, 1, 8, 300, 0, 13]], dtype=np.uint16)
EXPECTED = np.array([[0, 0, 1, 1, 2, 2],
                     [0, 0, 1, 1, 2, 2],
                     [10, 10, 13, 13, 255, 255],
                     [10, 10, 13, 255, 255, 255]], dtype=np.uint8)


def write_synthia_label(path: str, class_ids: np.ndarray) -> None:
    """16-bit BGR PNG as on disk: R = class ID, G = instance ID, B = 0."""
    h, w = class_ids.shape
    bgr = np.zeros((h, w, 3), dtype=np.uint16)
    bgr[..., 2] = class_ids
    bgr[..., 1] = 257 * (1 + np.arange(h * w).reshape(h, w))  # high byte set
    assert cv2.imwrite(path, bgr)


def write_image(path: str, h: int, w: int) -> None:
    rng = np.random.RandomState(h + w)
    Image.fromarray(rng.randint(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def synthia_root(tmp_path):
    root = tmp_path / 'synthia'
    (root / 'RGB').mkdir(parents=True)
    (root / 'GT' / 'LABELS').mkdir(parents=True)
    (root / 'GT' / 'COLOR').mkdir(parents=True)
    for name in ('0000000.png', '0000001.png'):
        write_image(str(root / 'RGB' / name), 4, 6)
        write_synthia_label(str(root / 'GT' / 'LABELS' / name), CLASS_IDS)
        write_image(str(root / 'GT' / 'COLOR' / name), 4, 6)
    return str(root)


def read_out(root: str, name: str) -> np.ndarray:
    path = osp.join(root, 'GT', 'LABELS', f'{name}_labelTrainIds.png')
    with Image.open(path) as im:
        assert im.mode == 'L'
        return np.array(im)


def test_r_channel_mapped_not_pillow_high_byte(synthia_root):
    summary = convert_synthia(synthia_root)
    assert summary.ok and len(summary.converted) == 2
    np.testing.assert_array_equal(read_out(synthia_root, '0000000'), EXPECTED)
    raw = osp.join(synthia_root, 'GT', 'LABELS', '0000000.png')
    np.testing.assert_array_equal(read_synthia_label(raw), CLASS_IDS)
    # What Pillow would have given: not the class IDs.
    with Image.open(raw) as im:
        assert not np.array_equal(np.array(im)[..., 0], CLASS_IDS)


def test_ids_above_255_ignored_and_counted(synthia_root, monkeypatch):
    logs = []
    monkeypatch.setattr(common, 'print_log',
                        lambda msg, **kw: logs.append(msg))
    summary = convert_synthia(synthia_root)
    assert summary.unknown_pixels == {300: 2}
    assert summary.unknown_files == {300: 2}
    assert summary.ignored_pixels[13] == 4 and summary.ignored_pixels[0] == 4
    warnings = [m for m in logs if 'outside the mapping' in m]
    assert len(warnings) == 1 and '300: 2 px in 2 file' in warnings[0]


def test_all_mapped_ids(synthia_root):
    ids = np.array([list(SYNTHIA_ID_TO_TRAINID)], dtype=np.uint16)
    path = osp.join(synthia_root, 'GT', 'LABELS', '0000002.png')
    write_synthia_label(path, ids)
    write_image(osp.join(synthia_root, 'RGB', '0000002.png'), *ids.shape)
    assert convert_synthia(synthia_root).ok
    np.testing.assert_array_equal(
        read_out(synthia_root, '0000002')[0],
        list(SYNTHIA_ID_TO_TRAINID.values()))


def test_rerun_resumes_and_ignores_own_outputs(synthia_root):
    assert len(convert_synthia(synthia_root, nproc=2).converted) == 2
    labels = osp.join(synthia_root, 'GT', 'LABELS')
    before = sorted(os.listdir(labels))
    again = convert_synthia(synthia_root)
    # 8-bit outputs read as inputs would fail the 16-bit check
    assert again.ok and len(again.existing) == 2 and not again.converted
    assert sorted(os.listdir(labels)) == before


def test_wrong_format_and_corrupt_named_run_continues(synthia_root):
    labels = osp.join(synthia_root, 'GT', 'LABELS')
    eight_bit = osp.join(labels, '0000003.png')
    write_image(eight_bit, 4, 6)  # 8-bit RGB: e.g. a GT/COLOR file
    write_image(osp.join(synthia_root, 'RGB', '0000003.png'), 4, 6)
    corrupt = osp.join(labels, '0000004.png')
    with open(corrupt, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\ntruncated')
    write_image(osp.join(synthia_root, 'RGB', '0000004.png'), 4, 6)
    summary = convert_synthia(synthia_root)
    failed = dict(summary.failed)
    assert set(failed) == {eight_bit, corrupt}
    assert '16-bit 3-channel' in failed[eight_bit] and eight_bit in failed[
        eight_bit]
    assert corrupt in failed[corrupt]
    assert len(summary.converted) == 2


def test_cli(synthia_root, tmp_path):
    path = osp.join(REPO, 'tools', 'dataset_converters', 'synthia.py')
    spec = importlib.util.spec_from_file_location('cli_synthia', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.main([synthia_root, '--nproc', '2']) == 0
    assert cli.main([str(tmp_path / 'missing')]) == 2
