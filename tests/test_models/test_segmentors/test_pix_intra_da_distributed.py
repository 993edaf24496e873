"""PixIntraDA under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU.

Multi-level: the segmentor's one target pass (through its wrapped forward) gives the
partial seg loss and the head outputs that the adversarial terms differentiate through;
the discriminators relay gradients bare, then train through their wrappers.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from test_pix_intra_da_segmentor import make_target_data

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
WORKER = osp.join(REPO, 'tests', 'dist_workers', 'pixintrada_train.py')


@pytest.mark.parametrize('adversarial,find_unused', [('binary', False),
                                                     ('continuous', True)])
def test_two_process_training_keeps_ranks_in_sync(tmp_path, adversarial, find_unused):
    city, round_dir = make_target_data(tmp_path)
    out = tmp_path / 'ranks.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(29500 + (os.getpid() + int(find_unused)) % 1000), WORKER,
         city, round_dir, str(tmp_path / 'work'), str(out), adversarial,
         str(int(find_unused))],
        capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = json.loads(out.read_text())
    assert [r['rank'] for r in ranks] == [0, 1]
    for r in ranks:
        assert r['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert set(r['wrapped'].values()) == {'MMDistributedDataParallel'}
    for part in ('segmentor', 'discriminator', 'discriminator_aux'):
        # every part moved, and both ranks hold the same weights (each rank saw other
        # images, so only gradient synchronisation keeps them equal)
        assert ranks[0]['after'][part] != ranks[0]['before'][part], part
        assert ranks[0]['after'][part] == ranks[1]['after'][part], part
