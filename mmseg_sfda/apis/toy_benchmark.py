"""The toy domain-shift benchmark as used by ``tools/demo.py`` and the method tests."""
import copy
import os.path as osp
from typing import Dict, NamedTuple, Optional, Tuple

from mmengine.config import Config

from mmseg_sfda.datasets.converters.gta5 import convert_gta5
from mmseg_sfda.datasets.converters.synthia import convert_synthia
from mmseg_sfda.toy.domains import ToyDomainSpec, make_toy_domains
from .evaluation import evaluate
from .training import train_segmentor

TOY_PREFIX = 'data/toy'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def prepare_toy_data(data_root: str, seed: int = 0, nproc: int = 1, **spec) -> None:
    """Make the toy domains (if absent) and convert the GTA5 / SYNTHIA labels.

    ``spec``: the other :class:`~mmseg_sfda.toy.domains.ToyDomainSpec` fields
    (``height``, ``width``, ``shift``, ``num_source``, ``layouts`` ...). Both steps
    resume, so a second call costs a directory scan.
    """
    print(make_toy_domains(ToyDomainSpec(out=data_root, seed=seed, **spec), nproc))
    for name, convert in (('gta5', convert_gta5), ('synthia', convert_synthia)):
        folder = osp.join(data_root, name)
        if osp.isdir(folder):
            summary = convert(folder, nproc)
            if summary is None or not summary.ok:
                raise RuntimeError(f'converting the toy {name} labels in {folder} failed '
                                   '(the log above names the files)')


def _retarget(node, data_root: str):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'data_root' and isinstance(value, str) and \
                    value.startswith(TOY_PREFIX):
                node[key] = data_root + value[len(TOY_PREFIX):]
            else:
                _retarget(value, data_root)
    elif isinstance(node, list):
        for value in node:
            _retarget(value, data_root)
    return node


def _scale_schedulers(node, old_iters: int, new_iters: int):
    """Scale every iteration-based scheduler's ``begin`` / ``end`` by new / old."""
    if isinstance(node, dict) and 'type' in node:
        for key in ('begin', 'end'):
            value = node.get(key)
            if isinstance(value, int) and not node.get('by_epoch', True):
                node[key] = min(round(value * new_iters / old_iters), new_iters) \
                    if value < 2 * old_iters else value  # e.g. end=INF: unbounded
    elif isinstance(node, dict):
        for value in node.values():
            _scale_schedulers(value, old_iters, new_iters)
    elif isinstance(node, list):
        for value in node:
            _scale_schedulers(value, old_iters, new_iters)


def _set_input_size(model: dict, size: Tuple[int, int]) -> None:
    """Set every data preprocessor's ``size`` (and a generator's ``out_size``)."""
    for key, value in model.items():
        if key == 'data_preprocessor' and isinstance(value, dict) and 'size' in value:
            value['size'] = tuple(size)
        elif key == 'generator' and isinstance(value, dict) and 'out_size' in value:
            value['out_size'] = tuple(size)
        elif isinstance(value, dict):
            _set_input_size(value, size)


def toy_config(path: str, data_root: str = TOY_PREFIX,
               options: Optional[Dict] = None,
               size: Optional[Tuple[int, int]] = None) -> Config:
    """Load a toy config with its ``data/toy`` roots moved to ``data_root``.

    ``options`` are merged as ``--cfg-options``; where they change
    ``train_cfg.max_iters``, every iteration-based ``param_scheduler`` is rescaled to the
    new length (a run shortened to 20 iterations anneals its learning rate to the end
    instead of stopping at 85% of its peak), and so is every hook's ``round_iters``.
    ``size`` (h, w) sets the models' input size (toy data made at another size).
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, path) if not osp.isabs(path) else path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks'):
        if cfg.get(key):  # custom_hooks: e.g. PseudoLabelHook's labelling loader
            cfg[key] = _retarget(copy.deepcopy(cfg[key]), data_root)
    old_iters = cfg.get('train_cfg', {}).get('max_iters')
    if size is not None and cfg.get('model'):
        _set_input_size(cfg.model, size)
    if options:
        cfg.merge_from_dict(options)
    new_iters = cfg.get('train_cfg', {}).get('max_iters')
    if old_iters and new_iters and new_iters != old_iters and cfg.get('param_scheduler'):
        schedulers = copy.deepcopy(cfg.param_scheduler)
        _scale_schedulers(schedulers, old_iters, new_iters)
        cfg.param_scheduler = schedulers
    if old_iters and new_iters and new_iters != old_iters:
        for hook in cfg.get('custom_hooks', []):  # pseudo-label rounds keep their share
            if hook.get('round_iters'):
                hook['round_iters'] = max(1, round(hook['round_iters'] * new_iters /
                                                   old_iters))
    return cfg


class ToyMethod(NamedTuple):
    """A method on the toy benchmark.

    ``stages`` are its configs, chained by checkpoint (each starts from the previous
    stage's final weights, the first from the source model). ``before`` names another
    method whose result it starts from (PixIntraDA: the inter-domain AdaptSegNet
    model); that run is shared, not part of the method, so controls leave it alone.
    ``term_off`` are the cfg-options that switch the method's distinctive term off,
    ``term`` names it.
    """
    stages: Tuple[str, ...]
    term: str
    term_off: Dict[str, object]
    before: Optional[str] = None


_TOY = 'configs/toy/{}_deeplabv3_r18_toy-gta2cs.py'
TOY_METHODS: Dict[str, ToyMethod] = {
    'sfda': ToyMethod((_TOY.format('sfda'), ), 'IPSM', {
        'model.use_ipsm': False, 'model.discriminator': None,
        'optim_wrapper.discriminator': None}),
    'adaptseg': ToyMethod((_TOY.format('adaptsegnet'), ), 'adversarial',
                          {'model.lambda_adv_main': 0.}),
    'advent': ToyMethod((_TOY.format('advent'), ), 'adversarial',
                        {'model.lambda_adv_main': 0.}),
    'cbst': ToyMethod((_TOY.format('cbst'), ), 'class balance (= ST)',
                      {'custom_hooks.0.policy.type': 'global_portion'}),
    'das3': ToyMethod(tuple(_TOY.format(f'das3-{s}') for s in 'abc'), 'ClassMix',
                      {'model.mix_weight': 0.}),
    'sim': ToyMethod(tuple(_TOY.format(f'sim-step{s}') for s in (1, 2)),
                     'stuff/instance matching', {'model.lambda_ci': 0.}),
    'pixintrada': ToyMethod((_TOY.format('pixintrada'), ), 'pixel-level adversarial',
                            {'model.lambda_adv_main': 0.}, before='adaptseg'),
}
VARIANTS = ('method', 'lr0', 'term_off')


def stage_name(path: str) -> str:
    """A chained stage's name: what follows the method in its config's name
    ('das3-a_...' -> 'a', 'sim-step1_...' -> 'step1'), else the config's method
    ('adaptsegnet_...' -> 'adaptsegnet')."""
    prefix = osp.basename(path).split('_')[0]
    return prefix.split('-', 1)[1] if '-' in prefix else prefix


def set_segmentor_lr(cfg: Config, lr: float) -> None:
    """Set the segmentor's learning rate (one optimizer, or the ``segmentor`` one of a
    multi-module wrapper); the BatchNorm statistics still follow the method's policy."""
    wrapper = cfg.optim_wrapper
    (wrapper.segmentor if 'segmentor' in wrapper else wrapper).optimizer.lr = lr


def toy_adabn_loader(data_root: str) -> dict:
    """The toy target training images in a fixed order, unflipped: AdaBN's loader."""
    cfg = toy_config('configs/_base_/datasets/toy_cityscapes_target.py', data_root)
    loader = copy.deepcopy(cfg.train_dataloader)
    loader.update(num_workers=0, persistent_workers=False,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    loader.dataset.pipeline = [t for t in loader.dataset.pipeline
                               if t['type'] != 'RandomFlip']
    return loader


def run_toy_method(name: str, data_root: str, source_ckpt: str, work_dir: str,
                   options: Optional[Dict] = None, variant: str = 'method',
                   stage_options: Optional[Dict[str, Dict]] = None,
                   size: Optional[Tuple[int, int]] = None
                   ) -> Tuple[str, Dict[str, Dict[str, float]]]:
    """Run a toy method (or one of its controls) from ``source_ckpt``.

    ``variant``: 'method'; 'lr0' (its own stages with the segmentor's learning rate 0,
    the same BatchNorm policy); 'term_off' (its distinctive term switched off).
    ``options`` are cfg-options for every stage (e.g. a shorter schedule),
    ``stage_options`` per stage name, ``size`` the input size (see :func:`toy_config`).
    Returns the last checkpoint and each of the
    method's stages' test metrics. Runs resume (see :func:`train`): the ``before``
    method's run, or any finished run, in the same ``work_dir`` is reused.
    """
    if variant not in VARIANTS:
        raise ValueError(f'variant must be one of {VARIANTS}, got {variant!r}')
    method = TOY_METHODS[name]
    ckpt, metrics = source_ckpt, {}
    if method.before:
        ckpt, _ = run_toy_method(method.before, data_root, source_ckpt, work_dir,
                                 options, 'method', stage_options, size)
    for path in method.stages:
        stage = stage_name(path)
        opts = dict(options or {}, **(stage_options or {}).get(stage, {}))
        opts['model.source_checkpoint'] = ckpt
        if variant == 'term_off':
            opts.update(method.term_off)
        cfg = toy_config(path, data_root, opts, size)
        if variant == 'lr0':
            set_segmentor_lr(cfg, 0.)
        folder = osp.join(work_dir, f'{name}-{stage}-{variant}')
        ckpt = train_segmentor(cfg, folder)
        metrics[stage] = evaluate(cfg, ckpt, osp.join(folder, 'eval'))
    return ckpt, metrics
