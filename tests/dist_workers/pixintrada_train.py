"""torchrun worker (2 processes, gloo): a few PixIntraDA iterations through the runner,
every rank's checksums to OUT_JSON
(tests/test_models/test_segmentors/test_pix_intra_da_distributed.py).

Usage: torchrun --nproc_per_node 2 pixintrada_train.py CS_ROOT ROUND_DIR WORK_DIR OUT_JSON
           ADVERSARIAL(binary|continuous) FIND_UNUSED(0|1)
"""
import sys

from sync_record import train_and_record
from test_pix_intra_da_segmentor import runner_cfg  # noqa: E402 (path from sync_record)

if __name__ == '__main__':
    city, round_dir, work_dir, out, adversarial, find_unused = sys.argv[1:7]
    train_and_record(runner_cfg((city, round_dir), work_dir, adversarial, iters=2), out,
                     parts=('segmentor', 'discriminator', 'discriminator_aux'),
                     find_unused=find_unused)
