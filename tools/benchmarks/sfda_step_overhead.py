"""Overhead of one SFDA ``train_step`` over the forward / backward passes it needs.

    python tools/benchmarks/sfda_step_overhead.py                     # toy config
    python tools/benchmarks/sfda_step_overhead.py --repeats 20 --warmup 3

Requirement: a training step costs at most 1.15x the sum of the forward and backward
passes it needs. In one process this measures, interleaved (a, b, a, b, ...) so that
machine load hits both alike:

(a) ``model.train_step(batch, optim_wrapper)``: the three optimiser steps (generator
    Eq. 11, segmentor Eq. 12/16, discriminator Eq. 15) through mmengine's
    ``OptimWrapperDict``, data preprocessing included;
(b) the same forward and backward computations done directly with the model's own
    helpers: no optimiser wrappers, no optimiser steps, no ``requires_grad`` toggling,
    gradients taken with ``torch.autograd.grad`` w.r.t. the parameters each step trains.

It prints the medians, the ratio (a) / (b) against the threshold and writes them to a
JSON file. The exit code is 0 either way: this is a report, not a test. The source
checkpoint is a freshly built segmentor unless ``--source-checkpoint`` is given (the
weights do not change the cost).
"""
import argparse
import functools
import json
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import mkdir_or_exist
from torch import Tensor

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

DEFAULT_CFG = 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py'
THRESHOLD = 1.15


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CFG)
    parser.add_argument('--source-checkpoint',
                        help='a trained source model (default: fresh weights)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='target images per step (even, for IPSM)')
    parser.add_argument('--height', type=int, default=128, help='target image height')
    parser.add_argument('--width', type=int, default=256, help='target image width')
    parser.add_argument('--repeats', type=int, default=10, help='timed (a, b) pairs')
    parser.add_argument('--warmup', type=int, default=2, help='untimed (a, b) pairs')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='work_dirs/benchmarks/sfda_step_overhead.json')
    return parser.parse_args()


def build(cfg: Config, source_checkpoint: str, height: int,
          width: int) -> Tuple[torch.nn.Module, OptimWrapperDict]:
    """The SFDASegmentor of ``cfg`` (targets ``height x width``) and its optimisers."""
    cfg.model.source_checkpoint = source_checkpoint
    cfg.model.segmentor.data_preprocessor.size = (height, width)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def fresh_source_checkpoint(cfg: Config, directory: str) -> str:
    """Save the weights of a freshly built segmentor as a stand-in source model."""
    path = osp.join(directory, 'source.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model.segmentor).state_dict()), path)
    return path


def target_batch(batch_size: int, height: int, width: int, seed: int) -> dict:
    """A batch of random uint8 target images as a dataloader yields it."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width), generator=gen,
                                    dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(height, width), ori_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def needed_passes(model: torch.nn.Module, target: Tensor) -> None:
    """The forward and backward passes of one ``train_step``, nothing else.

    Mirrors ``SFDASegmentor._generator_step`` / ``_segmentor_step`` /
    ``_discriminator_step`` with the same helpers and losses; each backward is a
    ``torch.autograd.grad`` w.r.t. the parameters that step trains.
    """
    # generator (Eq. 11)
    model.ensure_bns_hooks()
    batch = model.fake_batch_size or target.shape[0]
    fake = model._fake_images(batch, target)
    src_feat, src_logits = model.features_and_logits(model.source_model, fake,
                                                     model.feature_index)
    loss_bns = model.loss_bns()
    feat, logits = model._on_fake(model.segmentor, fake)
    src_maps = model.attention(src_feat)
    loss = (loss_bns - model.alpha * model.loss_mae(logits, src_logits) -
            model.beta * model.loss_dad_ss(src_maps, model.attention(feat)) +
            model.tau * model.loss_dad_st(
                src_maps, model._target_attention(target, src_feat.shape[-2:])))
    torch.autograd.grad(loss, list(model.generator.parameters()))

    # segmentor (Eq. 12, 16)
    fake, src_logits = fake.detach(), src_logits.detach()
    src_dual = src_maps.dual.detach()
    feat, logits = model._on_fake(model.segmentor, fake)
    loss = (model.alpha * model.loss_mae(logits, src_logits) +
            model.beta * model.loss_dad_ss(src_dual, model.attention(feat).dual))
    patches = None
    if not model.transfer_only:
        tgt_logits = model.upsample_like(model.logits(model.segmentor, target), target)
        loss = loss + model.loss_target(tgt_logits)
        if model.use_ipsm:
            patches, easy = model._ipsm_split(tgt_logits.softmax(dim=1))
            loss = loss + model.gamma * model.loss_adv(
                model._discriminate(model.discriminator, patches), easy,
                mode='generator')
    torch.autograd.grad(loss, list(model.segmentor.parameters()))

    # discriminator (Eq. 15)
    if patches is not None:
        loss = model.loss_adv(model._discriminate(model.discriminator, patches.detach()),
                              easy, mode='discriminator')
        torch.autograd.grad(loss, list(model.discriminator.parameters()))


def timed(fn: Callable[[], object]) -> float:
    """Wall time of ``fn()`` in milliseconds."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def instrument(model: torch.nn.Module,
               optim_wrapper: OptimWrapperDict) -> Dict[str, float]:
    """Time the parts of ``train_step`` that are no forward / backward pass.

    Wraps each optimiser's ``step`` and ``zero_grad`` and the data preprocessor;
    returns the dict (ms, summed over calls) the wrappers add to.
    """
    spent: Dict[str, float] = defaultdict(float)

    def timing(fn: Callable, key: str) -> Callable:

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += (time.perf_counter() - start) * 1e3

        return wrapped

    for name, wrapper in optim_wrapper.items():
        wrapper.step = timing(wrapper.step, f'{name}.step')
        wrapper.zero_grad = timing(wrapper.zero_grad, f'{name}.zero_grad')
    preprocessor = model.data_preprocessor
    preprocessor.forward = timing(preprocessor.forward, 'data_preprocessor')
    return spent


def measure(model: torch.nn.Module, optim_wrapper: OptimWrapperDict, data: dict,
            repeats: int, warmup: int) -> Dict[str, List[float]]:
    """Interleaved wall times (ms) of (a) ``train_step`` and (b) the needed passes.

    Also the time (a) spends in optimiser steps, ``zero_grad`` and preprocessing.
    """
    target = model.data_preprocessor(data, True)['inputs']
    spent = instrument(model, optim_wrapper)
    times: Dict[str, List[float]] = defaultdict(list)
    for i in range(warmup + repeats):
        spent.clear()
        step = timed(lambda: model.train_step(data, optim_wrapper))
        parts = dict(spent)
        passes = timed(lambda: needed_passes(model, target))
        if i >= warmup:
            times['step'].append(step)
            times['passes'].append(passes)
            for key, value in parts.items():
                times[f'step.{key}'].append(value)
    return dict(times)


def summarise(times: Dict[str, List[float]]) -> dict:
    """Medians, the ratio step / passes, the verdict and the step's breakdown."""
    step = statistics.median(times['step'])
    passes = statistics.median(times['passes'])
    # per-pair ratios as well: robust to load drifting over the run
    pair = statistics.median(a / b for a, b in zip(times['step'], times['passes']))
    breakdown = {key[len('step.'):]: statistics.median(value)
                 for key, value in times.items() if key.startswith('step.')}
    # load only ever adds time: the minima bound the unloaded cost from above
    fastest = min(times['step']) / min(times['passes'])
    return dict(step_ms=step, passes_ms=passes, overhead_ms=step - passes,
                ratio=step / passes, ratio_pairwise_median=pair, ratio_of_minima=fastest,
                threshold=THRESHOLD, passed=step / passes <= THRESHOLD,
                step_breakdown_ms=breakdown)


def dump_json_atomic(obj: dict, path: str) -> None:
    """Write ``obj`` to ``path`` through a temporary file and ``os.replace``."""
    directory = osp.dirname(osp.abspath(path))
    mkdir_or_exist(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def print_table(result: dict) -> None:
    """The medians, the ratio and the verdict, then the step's non-pass parts."""
    verdict = 'PASS' if result['passed'] else 'FAIL'
    rows = [('train_step (a)', f"{result['step_ms']:.1f} ms"),
            ('needed passes (b)', f"{result['passes_ms']:.1f} ms"),
            ('overhead (a - b)', f"{result['overhead_ms']:.1f} ms"),
            ('ratio a / b', f"{result['ratio']:.3f}"),
            ('ratio, median of pairs', f"{result['ratio_pairwise_median']:.3f}"),
            ('ratio of minima', f"{result['ratio_of_minima']:.3f}"),
            ('threshold', f"{result['threshold']:.2f}"),
            ('verdict', f"{verdict} (ratio {'<=' if result['passed'] else '>'} "
                        f"{result['threshold']:.2f})")]
    rows += [(f'  in (a): {key}', f'{value:.1f} ms')
             for key, value in result['step_breakdown_ms'].items()]
    width = max(len(k) for k, _ in rows)
    print('\n'.join(f'{k:<{width}}  {v}' for k, v in rows))


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    # the current logger: keep the weight initialisation report out of the table
    MMLogger.get_instance('sfda_step_overhead', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.source_checkpoint or fresh_source_checkpoint(cfg, tmp)
        model, optim_wrapper = build(cfg, checkpoint, args.height, args.width)
    data = target_batch(args.batch_size, args.height, args.width, args.seed)
    times = measure(model, optim_wrapper, data, args.repeats, args.warmup)
    result = summarise(times)
    fake_size = tuple(cfg.model.generator.get('out_size', ('?', '?')))
    print(f'SFDA step overhead: {args.config}, batch {args.batch_size}, target '
          f'{args.height}x{args.width}, fake {fake_size[0]}x{fake_size[1]}, '
          f'{args.repeats} repeats (+{args.warmup} warm-up), '
          f'{torch.get_num_threads()} threads')
    print_table(result)
    dump_json_atomic(
        dict(config=args.config, batch_size=args.batch_size,
             target_size=[args.height, args.width], fake_size=list(fake_size),
             repeats=args.repeats, warmup=args.warmup,
             threads=torch.get_num_threads(), torch=torch.__version__,
             machine=dict(platform=platform.platform(), cpus=os.cpu_count()),
             times_ms=times, **result), args.out)
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
