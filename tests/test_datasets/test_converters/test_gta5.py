"""GTA5 converter: palette-index labels -> train IDs (real on-disk layout)."""
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.utils.class_maps import CITYSCAPES_ID_TO_TRAINID
from mmseg_sfda.datasets.converters import common
from mmseg_sfda.datasets.converters.gta5 import convert_gta5

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))

# Cityscapes label IDs: road 7, sidewalk 8, building 11, car 26, bicycle 33,
# unlabeled 0, ego vehicle 1 (known void), 200 (unknown).
LABEL_1 = np.array([[7, 7, 8, 8, 11, 11],
                    [7, 7, 8, 8, 11, 11],
                    [26, 26, 33, 33, 0, 1],
                    [26, 26, 33, 33, 0, 1]], dtype=np.uint8)
EXPECTED_1 = np.array([[0, 0, 1, 1, 2, 2],
                       [0, 0, 1, 1, 2, 2],
                       [13, 13, 18, 18, 255, 255],
                       [13, 13, 18, 18, 255, 255]], dtype=np.uint8)


def write_palette_label(path: str, ids: np.ndarray) -> None:
    """A 'P' PNG whose index is the ID and whose colours are unrelated."""
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    im = Image.frombytes('P', (ids.shape[1], ids.shape[0]), ids.tobytes())
    rng = np.random.RandomState(0)
    im.putpalette(rng.randint(0, 256, 768).astype(np.uint8).tolist())
    im.save(path)


def write_image(path: str, h: int, w: int) -> None:
    rng = np.random.RandomState(h * w)
    Image.fromarray(rng.randint(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def gta5_root(tmp_path):
    """images/ + labels/ with 3 good pairs (one 1 px taller than its image)."""
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    write_image(str(root / 'images' / '00001.png'), 4, 6)
    write_palette_label(str(root / 'labels' / '00001.png'), LABEL_1)
    unknown = LABEL_1.copy()
    unknown[0, :3] = 200
    write_image(str(root / 'images' / '00002.png'), 4, 6)
    write_palette_label(str(root / 'labels' / '00002.png'), unknown)
    tall = np.repeat(LABEL_1, 2, axis=0)[:5]  # 5x6 label, 4x6 image
    write_image(str(root / 'images' / '00003.png'), 4, 6)
    write_palette_label(str(root / 'labels' / '00003.png'), tall)
    return str(root)


def read_out(root: str, name: str) -> np.ndarray:
    path = osp.join(root, 'labels', f'{name}_labelTrainIds.png')
    with Image.open(path) as im:
        assert im.mode == 'L'
        return np.array(im)


def test_palette_index_is_kept_not_colour(gta5_root):
    summary = convert_gta5(gta5_root)
    assert summary.ok
    np.testing.assert_array_equal(read_out(gta5_root, '00001'), EXPECTED_1)
    # The test data discriminates: colours / brightness are not the IDs.
    raw = osp.join(gta5_root, 'labels', '00001.png')
    assert not np.array_equal(cv2.imread(raw, cv2.IMREAD_GRAYSCALE), LABEL_1)
    assert not np.array_equal(np.array(Image.open(raw).convert('L')),
                              LABEL_1)


def test_unknown_ids_ignored_and_counted(gta5_root, monkeypatch):
    logs = []
    monkeypatch.setattr(common, 'print_log',
                        lambda msg, **kw: logs.append((msg, kw)))
    summary = convert_gta5(gta5_root)
    out = read_out(gta5_root, '00002')
    assert (out[0, :3] == 255).all()
    np.testing.assert_array_equal(out[1:], EXPECTED_1[1:])
    assert summary.unknown_pixels == {200: 3}
    assert summary.unknown_files == {200: 1}
    # void IDs 0 / 1 are ignored but are not "unknown"
    assert summary.ignored_pixels[0] > 0 and summary.ignored_pixels[1] > 0
    warnings = [m for m, _ in logs if 'outside the mapping' in m]
    assert len(warnings) == 1 and '200: 3 px in 1 file' in warnings[0]


def test_size_mismatch_resized_nearest(gta5_root, monkeypatch):
    logs = []
    monkeypatch.setattr(common, 'print_log',
                        lambda msg, **kw: logs.append(msg))
    summary = convert_gta5(gta5_root, on_mismatch='resize')
    out = read_out(gta5_root, '00003')
    assert out.shape == (4, 6)
    assert set(np.unique(out)) <= set(np.unique(EXPECTED_1))
    assert [src for src, _ in summary.resized] == [
        osp.join(gta5_root, 'labels', '00003.png')]
    assert '5x6' in summary.resized[0][1] and '4x6' in summary.resized[0][1]
    assert any('00003.png' in m and 'resized' in m for m in logs)


def test_size_mismatch_skipped_and_reported(gta5_root):
    summary = convert_gta5(gta5_root, on_mismatch='skip')
    assert [src for src, _ in summary.skipped] == [
        osp.join(gta5_root, 'labels', '00003.png')]
    assert not osp.exists(
        osp.join(gta5_root, 'labels', '00003_labelTrainIds.png'))
    assert len(summary.converted) == 2 and summary.ok


def test_rerun_resumes_and_ignores_own_outputs(gta5_root):
    first = convert_gta5(gta5_root, nproc=2)
    assert len(first.converted) == 3
    labels = osp.join(gta5_root, 'labels')
    before = sorted(os.listdir(labels))
    second = convert_gta5(gta5_root)
    assert len(second.existing) == 3 and not second.converted
    assert sorted(os.listdir(labels)) == before  # no *_labelTrainIds_* files
    assert not [f for f in before if f.startswith('.')]  # no temp files
    # an output cut short (crash of a non-atomic writer) or deleted is redone
    out1 = osp.join(labels, '00001_labelTrainIds.png')
    data = open(out1, 'rb').read()
    with open(out1, 'wb') as f:
        f.write(data[:len(data) // 2])
    os.remove(osp.join(labels, '00002_labelTrainIds.png'))
    third = convert_gta5(gta5_root)
    assert sorted(third.converted) == [
        osp.join(labels, '00001.png'), osp.join(labels, '00002.png')]
    np.testing.assert_array_equal(read_out(gta5_root, '00001'), EXPECTED_1)


def test_corrupt_and_rgb_labels_named_run_continues(gta5_root):
    labels = osp.join(gta5_root, 'labels')
    with open(osp.join(labels, '00004.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n not really a png')
    write_image(osp.join(gta5_root, 'images', '00004.png'), 4, 6)
    write_image(osp.join(labels, '00005.png'), 4, 6)  # RGB "label"
    write_image(osp.join(gta5_root, 'images', '00005.png'), 4, 6)
    write_palette_label(osp.join(labels, '00006.png'), LABEL_1)  # no image
    write_palette_label(osp.join(labels, '00007.png'), LABEL_1)
    bad_image = osp.join(gta5_root, 'images', '00007.png')
    with open(bad_image, 'wb') as f:
        f.write(b'not an image')
    summary = convert_gta5(gta5_root)
    failed = dict(summary.failed)
    assert set(failed) == {
        osp.join(labels, n)
        for n in ('00004.png', '00005.png', '00006.png', '00007.png')}
    assert bad_image in failed[osp.join(labels, '00007.png')]
    assert osp.join(labels, '00004.png') in failed[osp.join(labels,
                                                            '00004.png')]
    assert "'RGB'" in failed[osp.join(labels, '00005.png')]
    assert 'has no image' in failed[osp.join(labels, '00006.png')]
    assert len(summary.converted) == 3
    assert not osp.exists(osp.join(labels, '00004_labelTrainIds.png'))


def load_cli(name: str):
    path = osp.join(REPO, 'tools', 'dataset_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'cli_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_exit_codes(gta5_root, tmp_path, capsys):
    cli = load_cli('gta5')
    assert cli.main([gta5_root, '--nproc', '1']) == 0
    with open(osp.join(gta5_root, 'labels', '00009.png'), 'wb') as f:
        f.write(b'garbage')
    assert cli.main([gta5_root, '--on-mismatch', 'skip']) == 1
    missing = str(tmp_path / 'nowhere')
    assert cli.main([missing]) == 2
    assert missing in capsys.readouterr().err


def test_missing_folders_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='GTA5 root'):
        convert_gta5(str(tmp_path / 'nope'))
    (tmp_path / 'g' / 'images').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r'g[/\\]labels'):
        convert_gta5(str(tmp_path / 'g'))


def test_mapping_table_matches_class_maps():
    lut = common.map_ids(np.arange(256, dtype=np.uint8)[None],
                         np.array([255] * 256, np.uint8), frozenset())[0]
    assert (lut == 255).all()
    ids = np.array([list(CITYSCAPES_ID_TO_TRAINID)], dtype=np.uint8)
    from mmseg_sfda.utils.class_maps import build_lut
    out, ignored, unknown = common.map_ids(
        ids, build_lut(CITYSCAPES_ID_TO_TRAINID), frozenset(range(34)))
    assert out.tolist()[0] == list(CITYSCAPES_ID_TO_TRAINID.values())
    assert not ignored and not unknown
