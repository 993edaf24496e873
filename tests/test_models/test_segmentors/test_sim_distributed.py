"""SIM under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU.

The memory banks gather the source samples of both ranks, so they stay identical; the
matching losses join the graph after the source pass (the last forward); with
``find_unused_parameters`` on and off.
"""
import pytest

from runner_utils import RANKS_JSON, assert_ranks_in_sync, run_two_processes
from test_sim_segmentor import make_pair_data

pytestmark = pytest.mark.slow  # two training processes


@pytest.mark.parametrize('find_unused', [False, True])
def test_two_process_training_keeps_ranks_and_banks_in_sync(tmp_path, find_unused):
    gta, city = make_pair_data(tmp_path)
    ranks = run_two_processes('sim_train.py', [
        gta, city, tmp_path / 'work', RANKS_JSON, int(find_unused)], tmp_path)
    assert_ranks_in_sync(ranks, ('segmentor', 'discriminator'))
    for r in ranks:
        # parameter-free banks are not wrapped: their buffers are written in place
        assert r['wrapped']['stuff_bank'] == 'FeatureMemoryBank'
    for bank in ('stuff_bank', 'instance_bank'):
        assert ranks[0]['banks'][bank] == ranks[1]['banks'][bank], bank
    stuff = ranks[0]['banks']['stuff_bank']['valid']
    assert any(any(row) for row in stuff)
