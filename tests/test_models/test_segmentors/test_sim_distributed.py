"""SIM under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU.

The memory banks gather the source samples of both ranks, so they stay identical; the
matching losses join the graph after the source pass (the last forward); with
``find_unused_parameters`` on and off.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from test_sim_segmentor import make_pair_data

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
WORKER = osp.join(REPO, 'tests', 'dist_workers', 'sim_train.py')


@pytest.mark.parametrize('find_unused', [False, True])
def test_two_process_training_keeps_ranks_and_banks_in_sync(tmp_path, find_unused):
    gta, city = make_pair_data(tmp_path)
    out = tmp_path / 'ranks.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(28500 + (os.getpid() + int(find_unused)) % 1000), WORKER,
         gta, city, str(tmp_path / 'work'), str(out), str(int(find_unused))],
        capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = json.loads(out.read_text())
    assert [r['rank'] for r in ranks] == [0, 1]
    for r in ranks:
        assert r['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert r['wrapped']['segmentor'] == 'MMDistributedDataParallel'
        assert r['wrapped']['discriminator'] == 'MMDistributedDataParallel'
        # parameter-free banks are not wrapped: their buffers are written in place
        assert r['wrapped']['stuff_bank'] == 'FeatureMemoryBank'
    for part in ('segmentor', 'discriminator'):
        assert ranks[0]['after'][part] != ranks[0]['before'][part], part
        assert ranks[0]['after'][part] == ranks[1]['after'][part], part
    for bank in ('stuff_bank', 'instance_bank'):
        assert ranks[0]['banks'][bank] == ranks[1]['banks'][bank], bank
    stuff = ranks[0]['banks']['stuff_bank']['valid']
    assert any(any(row) for row in stuff)
