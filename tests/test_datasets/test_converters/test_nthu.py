"""NTHU converter: <City>/Labels/Test/*_eval.png (label IDs) -> train IDs."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_sfda.datasets.converters.nthu import convert_nthu

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))

EVAL = np.array([[7, 8, 11, 21],
                 [23, 24, 26, 0],
                 [33, 32, 28, 250]], dtype=np.uint8)
EXPECTED = np.array([[0, 1, 2, 8],
                     [10, 11, 13, 255],
                     [18, 17, 15, 255]], dtype=np.uint8)
STEMS = {'pano_00002_2_180': '.png', 'pano_00003_0_0': '.jpg'}


def write_image(path: str, h: int = 3, w: int = 4) -> None:
    rng = np.random.RandomState(7)
    Image.fromarray(rng.randint(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def make_city(root: str, city: str) -> None:
    """A city as on disk, test images with mixed suffixes, distractors."""
    for sub in ('Images/Train', 'Images/Test', 'Labels/Test'):
        os.makedirs(osp.join(root, city, sub))
    write_image(osp.join(root, city, 'Images', 'Train', 'pano_09999_0_0.jpg'))
    for stem, suffix in STEMS.items():
        write_image(osp.join(root, city, 'Images', 'Test', stem + suffix))
        labels = osp.join(root, city, 'Labels', 'Test')
        Image.fromarray(EVAL).save(osp.join(labels, stem + '_eval.png'))
        for distractor in ('_city.png', '_bgr.png', '_visual.png'):
            write_image(osp.join(labels, stem + distractor))


@pytest.fixture
def nthu_root(tmp_path):
    root = str(tmp_path / 'NTHU_Datasets')
    for city in ('Rome', 'Rio'):
        make_city(root, city)
    return root


def outputs(root: str, city: str):
    folder = osp.join(root, city, 'Labels', 'Test')
    return sorted(f for f in os.listdir(folder) if 'labelTrainIds' in f)


def test_eval_mapped_mixed_suffixes_distractors_ignored(nthu_root):
    summary = convert_nthu(nthu_root)
    assert summary.ok and len(summary.converted) == 4  # both cities
    assert summary.unknown_pixels == {250: 4}  # 1 px in each of 4 files
    for city in ('Rome', 'Rio'):
        assert outputs(nthu_root, city) == [
            f'{s}_labelTrainIds.png' for s in sorted(STEMS)]
        for stem in STEMS:
            path = osp.join(nthu_root, city, 'Labels', 'Test',
                            f'{stem}_labelTrainIds.png')
            with Image.open(path) as im:
                assert im.mode == 'L'
                np.testing.assert_array_equal(np.array(im), EXPECTED)


def test_selected_cities_and_rerun(nthu_root):
    assert len(convert_nthu(nthu_root, cities=['Rome']).converted) == 2
    assert outputs(nthu_root, 'Rio') == []
    again = convert_nthu(nthu_root, cities=['Rome'])
    assert len(again.existing) == 2 and not again.converted
    assert len(outputs(nthu_root, 'Rome')) == 2


def test_missing_city_and_image(nthu_root):
    with pytest.raises(FileNotFoundError, match='Tokyo'):
        convert_nthu(nthu_root, cities=['Tokyo'])
    os.remove(osp.join(nthu_root, 'Rio', 'Images', 'Test',
                       'pano_00003_0_0.jpg'))
    summary = convert_nthu(nthu_root, cities=['Rio'])
    (src, msg), = summary.failed
    assert src.endswith('pano_00003_0_0_eval.png') and 'has no image' in msg


def test_cli_cities(nthu_root):
    path = osp.join(REPO, 'tools', 'dataset_converters', 'nthu.py')
    spec = importlib.util.spec_from_file_location('cli_nthu', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.main([nthu_root, '--cities', 'Rio', '--nproc', '2']) == 0
    assert len(outputs(nthu_root, 'Rio')) == 2
    assert outputs(nthu_root, 'Rome') == []


def test_image_as_png_and_jpg_is_one_bad_file(nthu_root):
    """Both suffixes for one stem fail that file only; every city goes on."""
    img_dir = osp.join(nthu_root, 'Rome', 'Images', 'Test')
    write_image(osp.join(img_dir, 'pano_00002_2_180.jpg'))  # beside .png
    summary = convert_nthu(nthu_root)
    (src, msg), = summary.failed
    assert src == osp.join(nthu_root, 'Rome', 'Labels', 'Test',
                           'pano_00002_2_180_eval.png')
    assert osp.join(img_dir, 'pano_00002_2_180.png') in msg
    assert osp.join(img_dir, 'pano_00002_2_180.jpg') in msg
    assert len(summary.converted) == 3  # Rome's other file and all of Rio
    assert outputs(nthu_root, 'Rome') == ['pano_00003_0_0_labelTrainIds.png']
    # a second image appearing after conversion is caught on the next run
    os.remove(osp.join(img_dir, 'pano_00002_2_180.jpg'))
    assert len(convert_nthu(nthu_root).converted) == 1
    write_image(osp.join(img_dir, 'pano_00002_2_180.jpg'))
    again = convert_nthu(nthu_root)
    assert [src for src, _ in again.failed] == [src]
    assert len(again.existing) == 3


def test_truncated_jpeg_named(nthu_root):
    img = osp.join(nthu_root, 'Rio', 'Images', 'Test', 'pano_00003_0_0.jpg')
    write_image(img, 48, 64)
    label = osp.join(nthu_root, 'Rio', 'Labels', 'Test',
                     'pano_00003_0_0_eval.png')
    Image.fromarray(np.full((48, 64), 7, np.uint8)).save(label)
    data = open(img, 'rb').read()
    with open(img, 'wb') as f:
        f.write(data[:len(data) * 2 // 3])
    with Image.open(img) as im:
        assert im.size == (64, 48)  # the header alone looks fine
    summary = convert_nthu(nthu_root, cities=['Rio'])
    (src, msg), = summary.failed
    assert src == label and img in msg
    assert len(summary.converted) == 1


def _cli():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'nthu.py')
    spec = importlib.util.spec_from_file_location('cli_nthu', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


def test_city_folder_as_root_gives_the_right_command(nthu_root, capsys):
    city = osp.join(nthu_root, 'Rome')
    for cities in ([], ['--cities', 'Rome']):
        assert _cli().main([city] + cities) == 2
        err = capsys.readouterr().err
        fix = (f'python tools/dataset_converters/nthu.py '
               f'{osp.abspath(nthu_root)} --cities Rome')
        assert fix in err, err
        assert 'Rome/Rome' not in err
    assert outputs(nthu_root, 'Rome') == []


def test_empty_city_label_folder_is_an_error(nthu_root, capsys):
    folder = osp.join(nthu_root, 'Rio', 'Labels', 'Test')
    for name in os.listdir(folder):
        os.remove(osp.join(folder, name))
    assert _cli().main([nthu_root]) == 2
    err = capsys.readouterr().err
    assert folder in err and 'no raw label file' in err


def test_check_train_images_names_truncated_jpeg(nthu_root, monkeypatch):
    from mmseg_sfda.datasets.converters import common
    logs = []
    monkeypatch.setattr(common, 'print_log',
                        lambda msg, **kw: logs.append(msg))
    train = osp.join(nthu_root, 'Rio', 'Images', 'Train')
    bad = osp.join(train, 'pano_00001_0_0.jpg')
    write_image(bad, 48, 64)
    data = open(bad, 'rb').read()
    with open(bad, 'wb') as f:
        f.write(data[:len(data) * 2 // 3])
    assert _cli().main([nthu_root]) == 0  # labels only: not looked at
    assert _cli().main([nthu_root, '--check-train-images', '--nproc',
                        '2']) == 1
    assert any(bad in m and 'cannot be decoded' in m for m in logs)
    os.remove(bad)
    assert _cli().main([nthu_root, '--check-train-images']) == 0
