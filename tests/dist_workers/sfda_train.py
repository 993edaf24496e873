"""torchrun worker (2 processes, gloo): a few SFDA iterations through the runner, every
rank's checksums to OUT_JSON (tests/test_models/test_segmentors/test_sfda_distributed.py).

Usage: torchrun --nproc_per_node 2 sfda_train.py SOURCE_CKPT DATA_ROOT WORK_DIR OUT_JSON
"""
import sys

from sync_record import train_and_record
from test_sfda_segmentor import runner_cfg  # noqa: E402 (sync_record sets the path)

if __name__ == '__main__':
    source_checkpoint, data_root, work_dir, out = sys.argv[1:5]
    train_and_record(runner_cfg(source_checkpoint, data_root, work_dir, iters=2), out,
                     parts=('segmentor', 'generator', 'discriminator'))
