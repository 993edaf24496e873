"""AdaptSegNet under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU.

Multi-level, so the auxiliary head gets gradients from two passes (the source loss
inside the wrapped forward, the target adversarial loss from the hooked features); with
``find_unused_parameters`` on and off.
"""
import pytest

from runner_utils import RANKS_JSON, assert_ranks_in_sync, run_two_processes
from test_adapt_seg_net_segmentor import make_pair_data

pytestmark = pytest.mark.slow  # two training processes


@pytest.mark.parametrize('find_unused', [False, True])
def test_two_process_training_keeps_ranks_in_sync(tmp_path, find_unused):
    gta, city = make_pair_data(tmp_path)
    ranks = run_two_processes('adaptsegnet_train.py', [
        gta, city, tmp_path / 'work', RANKS_JSON, int(find_unused)], tmp_path)
    assert_ranks_in_sync(ranks, ('segmentor', 'discriminator', 'discriminator_aux'))
