"""PixIntraDA under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU.

Multi-level: the segmentor's one target pass (through its wrapped forward) gives the
partial seg loss and the head outputs that the adversarial terms differentiate through;
the discriminators relay gradients bare, then train through their wrappers.
"""
import pytest

from runner_utils import RANKS_JSON, assert_ranks_in_sync, run_two_processes
from test_pix_intra_da_segmentor import make_target_data

pytestmark = pytest.mark.slow  # two training processes


@pytest.mark.parametrize('adversarial,find_unused', [('binary', False),
                                                     ('continuous', True)])
def test_two_process_training_keeps_ranks_in_sync(tmp_path, adversarial, find_unused):
    city, round_dir = make_target_data(tmp_path)
    ranks = run_two_processes('pixintrada_train.py', [
        city, round_dir, tmp_path / 'work', RANKS_JSON, adversarial, int(find_unused)],
        tmp_path)
    assert_ranks_in_sync(ranks, ('segmentor', 'discriminator', 'discriminator_aux'))
