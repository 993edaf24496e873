"""Prediction grids: colourised label maps in titled rows, written atomically."""
import os

import cv2
import numpy as np
import pytest

from mmseg_sfda.visualization.prediction_grid import colorize, make_grid, save_rgb

PALETTE = [[10, 20, 30], [40, 50, 60], [70, 80, 90]]
WHITE = 255
TITLE_H = 18  # height of the title bar above the first row


def tile(h, w, value):
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_colorize_maps_classes_to_palette_and_ignore_to_black():
    label = np.array([[0, 1, 2], [255, 1, 0]], dtype=np.int64)
    rgb = colorize(label, PALETTE)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    expected = np.array([[[10, 20, 30], [40, 50, 60], [70, 80, 90]],
                         [[0, 0, 0], [40, 50, 60], [10, 20, 30]]], dtype=np.uint8)
    np.testing.assert_array_equal(rgb, expected)


def test_colorize_classes_beyond_the_palette_are_black():
    rgb = colorize(np.array([[3, 254]], dtype=np.uint8), PALETTE)
    np.testing.assert_array_equal(rgb, np.zeros((1, 2, 3), np.uint8))


def test_colorize_full_19_class_palette():
    palette = [[i, 2 * i, 3 * i] for i in range(19)]
    label = np.arange(19).reshape(1, 19)
    np.testing.assert_array_equal(colorize(label, palette)[0], np.array(palette, np.uint8))


@pytest.mark.parametrize('n_rows,n_cols,gap', [(1, 1, 4), (2, 3, 4), (3, 2, 0)])
def test_grid_shape(n_rows, n_cols, gap):
    h, w = 10, 12
    rows = [{f'c{j}': tile(h, w, 20 * i + j) for j in range(n_cols)} for i in range(n_rows)]
    grid = make_grid(rows, gap=gap)
    assert grid.dtype == np.uint8 and grid.flags['C_CONTIGUOUS']
    # title bar + tiles + gaps between rows; tiles + gaps between columns
    assert grid.shape == (TITLE_H + n_rows * h + (n_rows - 1) * gap,
                          n_cols * w + (n_cols - 1) * gap, 3)


def test_grid_layout_pixels():
    h, w, gap = 10, 12, 4
    rows = [{'image': tile(h, w, 1), 'gt': tile(h, w, 2)},
            {'image': tile(h, w, 3), 'gt': tile(h, w, 4)}]
    grid = make_grid(rows, gap=gap)
    y0, y1 = TITLE_H, TITLE_H + h + gap  # top of the first and second rows of tiles
    x1 = w + gap  # left of the second column
    assert np.all(grid[y0:y0 + h, :w] == 1)
    assert np.all(grid[y0:y0 + h, x1:x1 + w] == 2)
    assert np.all(grid[y1:y1 + h, :w] == 3)
    assert np.all(grid[y1:y1 + h, x1:x1 + w] == 4)
    assert np.all(grid[y0:, w:x1] == WHITE)  # column gap
    assert np.all(grid[y0 + h:y1] == WHITE)  # row gap
    # titles: black text on a white bar, one per column, on the first row only
    for x in (0, x1):
        bar = grid[:TITLE_H, x:x + w]
        assert (bar < 128).any() and (bar == WHITE).mean() > 0.5


def test_grid_resizes_tiles_to_the_first_one():
    small = np.zeros((5, 6, 3), np.uint8)
    small[:, 3:] = 9  # right half
    grid = make_grid([{'a': tile(10, 12, 1), 'b': small}], gap=2)
    assert grid.shape == (TITLE_H + 10, 12 + 2 + 12, 3)
    b = grid[TITLE_H:, 14:]
    assert np.all(b[:, :6] == 0) and np.all(b[:, 6:] == 9)  # nearest: labels stay exact


def test_grid_mismatched_titles_raise():
    rows = [{'image': tile(4, 4, 0), 'gt': tile(4, 4, 0)},
            {'gt': tile(4, 4, 0), 'image': tile(4, 4, 0)}]
    with pytest.raises(ValueError, match=r"row 1 has columns \['gt', 'image'\], expected "
                       r"\['image', 'gt'\]"):
        make_grid(rows)
    with pytest.raises(ValueError, match='row 1'):
        make_grid([{'a': tile(4, 4, 0)}, {'a': tile(4, 4, 0), 'b': tile(4, 4, 0)}])


def test_grid_without_rows_raises():
    with pytest.raises(ValueError, match='no rows'):
        make_grid([])


def test_save_rgb_round_trips_via_cv2(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 0)  # pure red in RGB
    out = tmp_path / 'figures' / 'grid.png'  # the folder is created
    save_rgb(str(out), image)
    assert os.listdir(out.parent) == ['grid.png']  # no temp file left
    bgr = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert tuple(bgr[0, 0]) == (0, 0, 255)  # stored as BGR
    np.testing.assert_array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), image)


def test_save_rgb_of_a_grid(tmp_path):
    grid = make_grid([{'pred': colorize(np.array([[0, 1], [2, 255]]), PALETTE)}])
    path = str(tmp_path / 'grid.png')
    save_rgb(path, grid)
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB), grid)
