"""Evaluation helpers over mmengine's runner, shared by the demo, the benchmarks and the tests."""
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import METRICS

from mmseg_sfda.models.utils.adabn import adapt_bn_statistics
from .training import run_cfg


def build_test_runner(cfg: Config, checkpoint: str, work_dir: str,
                      adabn_dataloader: Optional[dict] = None) -> Runner:
    """A runner holding ``checkpoint``; BN statistics re-estimated on
    ``adabn_dataloader``'s images when given (AdaBN)."""
    runner = Runner.from_cfg(run_cfg(cfg, work_dir))
    runner.load_checkpoint(checkpoint, map_location='cpu')
    if adabn_dataloader is not None:
        loader = Runner.build_dataloader(adabn_dataloader)
        adapt_bn_statistics(runner.model, loader)
    return runner


def evaluate(cfg: Config, checkpoint: str, work_dir: str,
             adabn_dataloader: Optional[dict] = None) -> Dict[str, float]:
    """Test ``checkpoint`` with ``cfg``'s test dataloader and evaluator."""
    return build_test_runner(cfg, checkpoint, work_dir, adabn_dataloader).test()


def evaluate_random(cfg: Config, seed: int = 0) -> Dict[str, float]:
    """Score uniformly random predictions with ``cfg``'s test evaluator: the chance level."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmseg')):
        loader = Runner.build_dataloader(cfg.test_dataloader)
        metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = loader.dataset.metainfo
    num_classes = len(loader.dataset.metainfo['classes'])
    gen = torch.Generator().manual_seed(seed)
    for batch in loader:
        samples = batch['data_samples']
        for sample in samples:
            shape = sample.gt_sem_seg.data.shape[-2:]
            pred = torch.randint(num_classes, (1, *shape), generator=gen)
            sample.pred_sem_seg = PixelData(data=pred)
        metric.process(batch, [s.to_dict() for s in samples])
    return metric.evaluate(len(loader.dataset))


def iter_predictions(runner: Runner, num: int) -> Iterator[Tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]]:
    """Yield ``(rgb image, ground truth, prediction)`` for the first ``num`` test images."""
    runner.model.eval()
    for batch in runner.test_dataloader:
        with torch.no_grad():
            outputs: List = runner.model.test_step(batch)
        for inputs, out in zip(batch['inputs'], outputs):
            if num == 0:
                return
            num -= 1
            rgb = np.ascontiguousarray(inputs.numpy().transpose(1, 2, 0)[..., ::-1])
            yield (rgb, out.gt_sem_seg.data[0].numpy(), out.pred_sem_seg.data[0].numpy())
