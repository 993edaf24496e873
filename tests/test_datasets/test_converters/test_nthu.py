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
