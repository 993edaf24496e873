"""SFDA under mmengine's MMSeparateDistributedDataParallel: 2 processes, gloo, CPU."""
import json
import os
import os.path as osp
import subprocess
import sys

from runner_utils import write_cityscapes_images
from test_sfda_segmentor import H, W, source_checkpoint  # noqa: F401 (fixture)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
WORKER = osp.join(REPO, 'tests', 'dist_workers', 'sfda_train.py')


def test_two_process_training_keeps_ranks_in_sync(tmp_path, source_checkpoint):  # noqa: F811
    write_cityscapes_images(str(tmp_path / 'cs'), 4, H, W)
    out = tmp_path / 'ranks.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(29500 + os.getpid() % 1000), WORKER, source_checkpoint,
         str(tmp_path / 'cs'), str(tmp_path / 'work'), str(out)],
        capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = json.loads(out.read_text())
    assert [r['rank'] for r in ranks] == [0, 1]
    for r in ranks:
        assert r['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert set(r['wrapped'].values()) == {'MMDistributedDataParallel'}
    for part in ('segmentor', 'generator', 'discriminator'):
        # every trained part moved, and both ranks hold the same weights (each rank saw
        # different target images and different fake samples, so only gradient
        # synchronisation keeps them equal)
        assert ranks[0]['after'][part] != ranks[0]['before'][part], part
        assert ranks[0]['after'][part] == ranks[1]['after'][part], part
