"""Converter machinery: content-based re-runs (manifest), full image decoding,
temp-file cleanup and empty folders, shown on a tiny GTA5 tree."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.utils.class_maps import CITYSCAPES_ID_TO_TRAINID, build_lut
from mmseg_sfda.datasets.converters import common
from mmseg_sfda.datasets.converters.gta5 import (CITYSCAPES_VALID_IDS,
                                                 convert_gta5, gta5_tasks,
                                                 read_gta5_label)
from test_gta5 import (EXPECTED_1, LABEL_1, load_cli, read_out, write_image,
                       write_palette_label)


@pytest.fixture
def tree(tmp_path):
    """Three 4x6 pairs, nothing converted."""
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    for name in ('00001', '00002', '00003'):
        write_image(str(root / 'images' / f'{name}.png'), 4, 6)
        write_palette_label(str(root / 'labels' / f'{name}.png'), LABEL_1)
    return str(root)


def labels(root, *names):
    return [osp.join(root, 'labels', n) for n in names]


def test_outputs_of_another_tool_are_converted_again(tree):
    """Outputs newer than their source but not written by this converter
    (wrong size, wrong IDs) are re-converted and reported, not kept."""
    out = osp.join(tree, 'labels', '00001_labelTrainIds.png')
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(out)  # wrong size
    out2 = osp.join(tree, 'labels', '00002_labelTrainIds.png')
    Image.fromarray(LABEL_1).save(out2)  # label IDs kept: an old bad reader
    first = convert_gta5(tree)
    assert sorted(first.replaced) == labels(tree, '00001.png', '00002.png')
    assert len(first.converted) == 3 and not first.existing
    for name in ('00001', '00002', '00003'):
        np.testing.assert_array_equal(read_out(tree, name), EXPECTED_1)
    second = convert_gta5(tree)
    assert len(second.existing) == 3 and not second.converted
    assert not second.replaced


def test_manifest_records_and_changes_are_redone(tree):
    convert_gta5(tree)
    path = osp.join(tree, 'labels', common.MANIFEST_NAME)
    with open(path) as f:
        manifest = json.load(f)
    assert f'v{common.CONVERTER_VERSION}' in manifest['converter']
    rec = manifest['files']['00001_labelTrainIds.png']
    src = osp.join(tree, 'labels', '00001.png')
    st = os.stat(src)
    assert rec['src'] == '00001.png' and rec['shape'] == [4, 6]
    assert rec['src_stat'] == [st.st_size, st.st_mtime_ns]
    # a changed source (new content, same mtime as before) is redone
    ids = LABEL_1.copy()
    ids[0, 0] = 26
    write_palette_label(src, np.concatenate([ids, ids]))
    write_image(osp.join(tree, 'images', '00001.png'), 8, 6)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    # an output replaced behind our back (same size) is redone
    out3 = osp.join(tree, 'labels', '00003_labelTrainIds.png')
    Image.fromarray(np.full((4, 6), 5, np.uint8)).save(out3)
    again = convert_gta5(tree)
    assert sorted(again.converted) == labels(tree, '00001.png', '00003.png')
    assert read_out(tree, '00001')[0, 0] == 13
    np.testing.assert_array_equal(read_out(tree, '00003'), EXPECTED_1)
    # another converter version (or table) invalidates every record
    with open(path) as f:
        manifest = json.load(f)
    manifest['converter'] = manifest['converter'].replace(
        f'v{common.CONVERTER_VERSION}', 'v1')
    with open(path, 'w') as f:
        json.dump(manifest, f)
    assert len(convert_gta5(tree).replaced) == 3
    assert len(convert_gta5(tree, overwrite=True).converted) == 3


def test_skip_removes_a_stale_resized_output(tree):
    write_palette_label(osp.join(tree, 'labels', '00002.png'),
                        np.concatenate([LABEL_1, LABEL_1]))  # 8x6 vs 4x6
    assert len(convert_gta5(tree).resized) == 1
    out = osp.join(tree, 'labels', '00002_labelTrainIds.png')
    assert osp.exists(out)
    summary = convert_gta5(tree, on_mismatch='skip')
    assert len(summary.skipped) == 1 and not osp.exists(out)


def _truncate(path: str, keep: float = 0.6) -> None:
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def test_truncated_png_image_named(tree):
    img = osp.join(tree, 'images', '00002.png')
    write_image(img, 4 * 16, 6 * 16)
    write_palette_label(osp.join(tree, 'labels', '00002.png'),
                        np.kron(LABEL_1, np.ones((16, 16), np.uint8)))
    _truncate(img)
    assert common.read_image_size(img) == (64, 96)  # the header still reads
    summary = convert_gta5(tree)
    (src, msg), = summary.failed
    assert src.endswith('00002.png') and img in msg and 'unreadable' in msg
    assert len(summary.converted) == 2
    assert load_cli('gta5').main([tree]) == 1


def test_stale_temp_files_of_ours_removed_only(tree):
    folder = osp.join(tree, 'labels')
    ours = [
        '.00001_labelTrainIds.png.ab12_x9z.tmp',  # kill -9 mid-write
        f'.{common.MANIFEST_NAME}.k2j4h5g6.tmp'
    ]
    theirs = ['.cache.tmp', 'notes.tmp', '.00001.png.ab12_x9z.tmp']
    for name in ours + theirs:
        open(osp.join(folder, name), 'wb').close()
    summary = convert_gta5(tree)
    assert sorted(summary.removed_temp) == sorted(
        osp.join(folder, n) for n in ours)
    left = set(os.listdir(folder))
    assert not left & set(ours) and set(theirs) <= left
    assert summary.ok and len(summary.converted) == 3


class Interrupt(BaseException):
    pass


INTERRUPT_AT = {'name': '00003.png'}


def reader_interrupted(path: str) -> np.ndarray:
    """The GTA5 reader, killed (Ctrl-C like) at one file."""
    if osp.basename(path) == INTERRUPT_AT['name']:
        raise Interrupt
    return read_gta5_label(path)


def test_interrupted_run_keeps_its_records(tree, monkeypatch):
    lut = build_lut(CITYSCAPES_ID_TO_TRAINID)
    with pytest.raises(Interrupt):
        common.run_conversion(gta5_tasks(tree), reader_interrupted, lut,
                              CITYSCAPES_VALID_IDS, 'GTA5')
    folder = osp.join(tree, 'labels')
    assert not [f for f in os.listdir(folder) if f.endswith('.tmp')]
    with open(osp.join(folder, common.MANIFEST_NAME)) as f:
        assert len(json.load(f)['files']) == 2
    monkeypatch.setitem(INTERRUPT_AT, 'name', None)
    again = common.run_conversion(gta5_tasks(tree), reader_interrupted, lut,
                                  CITYSCAPES_VALID_IDS, 'GTA5')
    assert again.converted == labels(tree, '00003.png')
    assert len(again.existing) == 2


def test_empty_label_folder_is_an_error(tree, capsys):
    folder = osp.join(tree, 'labels')
    for name in os.listdir(folder):
        os.remove(osp.join(folder, name))
    with pytest.raises(FileNotFoundError, match='no raw label file') as err:
        convert_gta5(tree)
    assert folder in str(err.value)
    assert load_cli('gta5').main([tree]) == 2
    assert folder in capsys.readouterr().err
    # a folder with only converted outputs has no raw label either
    Image.fromarray(EXPECTED_1).save(
        osp.join(folder, '00001_labelTrainIds.png'))
    with pytest.raises(FileNotFoundError, match='no raw label file'):
        convert_gta5(tree)


def test_manifest_saved_during_the_run(tree, monkeypatch):
    """What a kill -9 would find on disk mid-run: the records so far (the
    manifest is saved every _SAVE_EVERY_S seconds, here every file)."""
    monkeypatch.setattr(common, '_SAVE_EVERY_S', 0.0)
    seen = []

    def reader(path):
        manifest = osp.join(tree, 'labels', common.MANIFEST_NAME)
        if osp.exists(manifest):
            with open(manifest) as f:
                seen.append(len(json.load(f)['files']))
        return read_gta5_label(path)

    common.run_conversion(gta5_tasks(tree), reader,
                          build_lut(CITYSCAPES_ID_TO_TRAINID),
                          CITYSCAPES_VALID_IDS, 'GTA5')
    assert seen == [1, 2]
