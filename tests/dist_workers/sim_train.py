"""torchrun worker (2 processes, gloo): a few SIM iterations through the runner, every
rank's checksums and memory banks to OUT_JSON
(tests/test_models/test_segmentors/test_sim_distributed.py).

Usage: torchrun --nproc_per_node 2 sim_train.py GTA_ROOT CS_ROOT WORK_DIR OUT_JSON
           FIND_UNUSED(0|1)
"""
import sys

from sync_record import train_and_record
from test_sim_segmentor import runner_cfg  # noqa: E402 (path from sync_record)

if __name__ == '__main__':
    gta, city, work_dir, out, find_unused = sys.argv[1:6]
    train_and_record(runner_cfg((gta, city), work_dir, iters=2), out,
                     parts=('segmentor', 'discriminator'),
                     buffer_parts=('stuff_bank', 'instance_bank'),
                     find_unused=find_unused)
