"""Run under torchrun (2 processes, gloo): a few PixIntraDA iterations through the runner.

Writes, from rank 0, a JSON file with every rank's parameter checksums per sub-module
and the wrapper types, for
tests/test_models/test_segmentors/test_pix_intra_da_distributed.py.

Usage: torchrun --nproc_per_node 2 pixintrada_train.py CS_ROOT ROUND_DIR WORK_DIR OUT_JSON
           ADVERSARIAL(binary|continuous) FIND_UNUSED(0|1)
"""
import json
import os
import sys

import torch
from mmengine.dist import all_gather_object, get_rank
from mmengine.hooks import Hook
from mmengine.runner import Runner

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'test_models',
                                'test_segmentors'))
from test_pix_intra_da_segmentor import runner_cfg  # noqa: E402

from mmseg.registry import HOOKS  # noqa: E402
from mmseg_sfda.apis import init_cpu_distributed  # noqa: E402

PARTS = ('segmentor', 'discriminator', 'discriminator_aux')


def checksums(model) -> dict:
    model = model.module if hasattr(model, 'module') else model
    return {part: float(sum(p.detach().double().abs().sum()
                            for p in getattr(model, part).parameters()))
            for part in PARTS}


@HOOKS.register_module()
class RecordPixIntraDASyncHook(Hook):
    """Record checksums before and after training, and which parts are DDP-wrapped."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.before = None

    def before_train(self, runner) -> None:
        self.before = checksums(runner.model)

    def after_train(self, runner) -> None:
        inner = runner.model.module
        record = dict(rank=get_rank(), before=self.before, after=checksums(runner.model),
                      wrapper=type(runner.model).__name__,
                      wrapped={p: type(getattr(inner, p)).__name__ for p in PARTS})
        records = all_gather_object(record)
        if get_rank() == 0:
            with open(self.out, 'w') as f:
                json.dump(records, f)


def main() -> None:
    city, round_dir, work_dir, out, adversarial, find_unused = sys.argv[1:7]
    torch.set_num_threads(1)
    cfg = runner_cfg((city, round_dir), work_dir, adversarial, iters=2)
    cfg.launcher = 'pytorch'
    cfg.model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel',
                                 find_unused_parameters=bool(int(find_unused)))
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'),
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
    cfg.custom_hooks = [dict(type='RecordPixIntraDASyncHook', out=out)]
    init_cpu_distributed(cfg)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
