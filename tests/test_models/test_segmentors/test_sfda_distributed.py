"""SFDA under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU."""
import pytest

from runner_utils import (RANKS_JSON, assert_ranks_in_sync, run_two_processes,
                          write_cityscapes_images)
from test_sfda_segmentor import H, W, source_checkpoint  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow  # two training processes


def test_two_process_training_keeps_ranks_in_sync(tmp_path, source_checkpoint):  # noqa: F811
    root = write_cityscapes_images(str(tmp_path / 'cs'), 4, H, W)
    ranks = run_two_processes('sfda_train.py', [source_checkpoint, root,
                                                tmp_path / 'work', RANKS_JSON], tmp_path)
    assert_ranks_in_sync(ranks, ('segmentor', 'generator', 'discriminator'))
