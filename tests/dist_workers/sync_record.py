"""What the 2-process (torchrun, gloo) training workers share: a hook that records every
rank's parameter checksums (and buffers) per sub-module before and after training, and
the launch settings. Rank 0 writes all ranks' records to a JSON file."""
import json
import os
import sys
from typing import Sequence

import torch
from mmengine.dist import all_gather_object, get_rank
from mmengine.hooks import Hook
from mmengine.runner import Runner

TESTS = os.path.join(os.path.dirname(__file__), '..')
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, 'test_models', 'test_segmentors'))

from mmseg.registry import HOOKS  # noqa: E402
from mmseg_sfda.apis import finish_distributed, init_cpu_distributed  # noqa: E402


def _inner(model):
    return model.module if hasattr(model, 'module') else model


def checksums(model, parts: Sequence[str]) -> dict:
    return {part: float(sum(p.detach().double().abs().sum()
                            for p in getattr(_inner(model), part).parameters()))
            for part in parts}


def buffers(model, names: Sequence[str]) -> dict:
    return {name: {key: value.double().tolist()
                   for key, value in getattr(_inner(model), name).state_dict().items()}
            for name in names}


@HOOKS.register_module(force=True)
class RecordSyncHook(Hook):
    """Record checksums (and buffers) before and after training, and the wrappers."""

    def __init__(self, out: str, parts: Sequence[str], buffer_parts: Sequence[str] = ()):
        self.out, self.parts, self.buffer_parts = out, tuple(parts), tuple(buffer_parts)
        self.before = None

    def before_train(self, runner) -> None:
        self.before = checksums(runner.model, self.parts)

    def after_train(self, runner) -> None:
        inner = runner.model.module
        record = dict(rank=get_rank(), before=self.before,
                      after=checksums(runner.model, self.parts),
                      wrapper=type(runner.model).__name__,
                      wrapped={p: type(getattr(inner, p)).__name__
                               for p in self.parts + self.buffer_parts})
        if self.buffer_parts:
            record['banks'] = buffers(runner.model, self.buffer_parts)
        records = all_gather_object(record)
        if get_rank() == 0:
            with open(self.out, 'w') as f:
                json.dump(records, f)


def train_and_record(cfg, out: str, parts: Sequence[str],
                     buffer_parts: Sequence[str] = (), find_unused=None) -> None:
    """Train ``cfg`` as ``tools/train.py --launcher pytorch`` would on a CPU machine
    (the nccl default replaced by gloo) and record the ranks."""
    torch.set_num_threads(1)
    cfg.launcher = 'pytorch'
    if find_unused is not None:
        cfg.model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel',
                                     find_unused_parameters=bool(int(find_unused)))
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'),
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
    cfg.custom_hooks = [dict(type='RecordSyncHook', out=out, parts=parts,
                             buffer_parts=buffer_parts)]
    init_cpu_distributed(cfg)
    Runner.from_cfg(cfg).train()
    finish_distributed()  # as tools/train.py
