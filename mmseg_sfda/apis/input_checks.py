"""Preflight checks of a run's inputs, and one clear message for bad input in the tools.

``tools/train.py`` runs :func:`check_run` after :func:`check_inputs` (paths exist) and
before building the runner; every tool runs its work inside :func:`exit_on_bad_input`,
which turns a :class:`BadInputError` (or a build error it can explain, see
:func:`explain_error`) into ``SystemExit`` with one message naming the file / key / value
and the fix. Other errors keep their traceback. docs/troubleshooting.md lists the
messages.
"""
import contextlib
import copy
import difflib
import inspect
import os
import os.path as osp
import re
from argparse import ArgumentParser, Namespace
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from mmseg_sfda.utils.bad_input import (BadInputError, MissingInputError,
                                        bad_input_message, image_file_problem)

#: dataset wrappers: config key of the wrapped dataset(s)
_WRAPPED = {'DomainPairDataset': ('source', 'target'), 'RepeatDataset': ('dataset', ),
            'ClassBalancedDataset': ('dataset', ), 'MultiImageMixDataset': ('dataset', )}
#: top-level config keys the runner reads although configs rarely set them
_RUNTIME_KEYS = ('work_dir', 'load_from', 'resume', 'launcher', 'custom_hooks',
                 'randomness', 'experiment_name', 'auto_scale_lr', 'compile', 'cfg')
_MAX_LISTED = 5
_SCAN_THREADS = 8  # file checks are I/O: threads overlap the reads


# ----------------------------------------------------------------- --cfg-options
class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` whose malformed items end in one usage error naming
    the item (instead of a ``ValueError`` traceback)."""

    def __call__(self, parser: ArgumentParser, namespace: Namespace,
                 values: Optional[Sequence[str]], option_string: Optional[str] = None):
        for kv in values or ():
            key = kv.split('=', 1)[0]
            if '=' not in kv or not key or ' ' in key:
                parser.error(f'{option_string} {kv!r}: expected KEY=VALUE with a dotted '
                             'config key, e.g. train_cfg.max_iters=100 or '
                             "model.decode_head.num_classes=19 (no spaces around '=')")
        try:
            super().__call__(parser, namespace, values, option_string)
        except (AssertionError, ValueError) as err:
            reason = str(err) or 'unbalanced brackets'
            parser.error(f'{option_string} {" ".join(values or ())!r}: {reason}; write '
                         'lists as key=[a,b] or key="(a,b)" (quoted in the shell)')


def check_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Refuse a ``--cfg-options`` key whose top level is missing from ``cfg`` (read
    before the options are merged) and a near-miss of an existing one:
    ``trian_cfg.max_iters=2`` would silently add a key nobody reads."""
    keys = [k for k in cfg.keys() if not k.startswith('_')]
    for key in options or {}:
        top = key.split('.')[0]
        if top in keys or top in _RUNTIME_KEYS:
            continue
        close = difflib.get_close_matches(top, keys, n=3, cutoff=0.75)
        if close:
            raise BadInputError(
                f'--cfg-options {key}={options[key]}: the config has no key {top!r} (did '
                f'you mean {" / ".join(close)}?); a misspelled key is added and never read')


# ----------------------------------------------------------------- config values
def _find(node: Any, key: str = '') -> Iterator[Tuple[str, Any]]:
    """``(dotted key, node)`` of ``node`` and every dict / list below it."""
    yield key, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _find(v, f'{key}.{k}' if key else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _find(v, f'{key}[{i}]')


def _decode_heads(model: dict) -> List[Tuple[str, dict]]:
    """``(key, head cfg)`` of the decode / auxiliary heads of a model config (inside an
    adaptation wrapper's ``segmentor`` too)."""
    found = []
    for key, node in _find(model, 'model'):
        if key.endswith(('decode_head', 'auxiliary_head')) and isinstance(node, dict) \
                and 'num_classes' in node:
            found.append((key, node))
        elif key.endswith(('decode_head', 'auxiliary_head')) and isinstance(node, list):
            found += [(f'{key}[{i}]', h) for i, h in enumerate(node)
                      if isinstance(h, dict) and 'num_classes' in h]
    return found


def config_value_problems(cfg: Config) -> List[str]:
    """Values a run cannot train with: a negative or non-numeric learning rate, an odd
    batch for SFDA's IPSM (Eq. 14 splits it in halves)."""
    problems = []
    for key, node in _find(cfg.get('optim_wrapper', {}), 'optim_wrapper'):
        if key.endswith('optimizer') and isinstance(node, dict) and 'lr' in node:
            lr = node['lr']
            if not isinstance(lr, (int, float)) or isinstance(lr, bool):
                problems.append(f'{key}.lr={lr!r} is not a number; set e.g. '
                                f'--cfg-options {key}.lr=0.01')
            elif lr < 0:
                problems.append(f'{key}.lr={lr} is negative; a learning rate must be '
                                f'>= 0 (e.g. --cfg-options {key}.lr={-lr:g})')
    model = cfg.get('model', {})
    loader = cfg.get('train_dataloader') or {}
    batch = loader.get('batch_size')
    if model.get('type') == 'SFDASegmentor' and model.get('use_ipsm', True) and \
            not model.get('transfer_only', False) and isinstance(batch, int) and batch % 2:
        problems.append(
            f'train_dataloader.batch_size={batch} is odd, but SFDA\'s IPSM ranks each '
            'target batch into easy / hard halves (Eq. 14): set an even batch size '
            f'(e.g. train_dataloader.batch_size={batch + 1}) or model.use_ipsm=False')
    return problems


def model_arg_problems(cfg: Config) -> List[str]:
    """Unknown keys, and missing ``type``, in the component arguments of the model class
    (e.g. ``model.loss_bns.loss_wieght``): each names the key and the valid ones."""
    from mmseg.registry import MODELS
    model = cfg.get('model', {})
    cls = MODELS.get(model.get('type', '')) if isinstance(model, dict) else None
    if cls is None:
        return []
    problems = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        default, given = param.default, model.get(name)
        if not (isinstance(default, dict) and 'type' in default and isinstance(given, dict)):
            continue
        part_type = given.get('type')
        if part_type is None:
            problems.append(
                f'model.{name} has no type (it sets {sorted(given)}): {cls.__name__}\'s '
                f'default is dict(type={default["type"]!r}); add '
                f'model.{name}.type={default["type"]} to change its settings')
            part_type = default['type']
        part = MODELS.get(part_type) if isinstance(part_type, str) else part_type
        if part is None:
            continue  # the build names an unregistered type (explain_error)
        problems += _unknown_args(part, given, f'model.{name}')
    return problems


def _unknown_args(cls: type, given: dict, key: str) -> List[str]:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    valid = [n for n in params if n != 'self']
    return [f'{key}.{arg} is not an argument of {cls.__name__}'
            f'{_did_you_mean(arg, valid)}; its arguments: {", ".join(valid)}'
            for arg in given if arg != 'type' and arg not in params]


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f' (did you mean {close[0]}?)' if close else ''


# ----------------------------------------------------------------------- datasets
def _leaf_datasets(node: dict, key: str) -> Iterator[Tuple[str, dict]]:
    kind = node.get('type')
    kind = getattr(kind, '__name__', kind)
    if kind in _WRAPPED:
        for sub in _WRAPPED[kind]:
            if isinstance(node.get(sub), dict):
                yield from _leaf_datasets(node[sub], f'{key}.{sub}')
    elif kind == 'ConcatDataset':
        for i, part in enumerate(node.get('datasets', [])):
            yield from _leaf_datasets(part, f'{key}.datasets[{i}]')
    else:
        yield key, node


def _loads_labels(pipeline: Sequence[Any]) -> bool:
    return any(isinstance(t, dict) and 'LoadAnnotations' in str(t.get('type'))
               for t in pipeline or ())


def _folder_hint(path: Optional[str]) -> str:
    """What ``path`` holds, to show a wrong layout."""
    if not path or not osp.isdir(path):
        return ''
    names = sorted(os.listdir(path))
    shown = ', '.join(names[:_MAX_LISTED]) + (' ...' if len(names) > _MAX_LISTED else '')
    return f' ({path} holds: {shown or "nothing"})'


def _folder_problem(node: dict, key: str) -> Optional[str]:
    """A missing data root or image folder of a local dataset config."""
    root = node.get('data_root')
    if not isinstance(root, str) or '://' in root:
        return None
    if not osp.isdir(root):
        return (f'{key}.data_root: {root} is not a folder; set --cfg-options '
                f'{key}.data_root=PATH (see docs/dataset_preparation.md)')
    img = (node.get('data_prefix') or {}).get('img_path')
    if isinstance(img, str) and not osp.isdir(osp.join(root, img)):
        return (f'{key}: image folder {osp.join(root, img)} not found{_folder_hint(root)}; '
                f'the dataset expects its images under data_root/{img}: point '
                f'{key}.data_root at the dataset\'s root (see docs/dataset_preparation.md)')
    return None


def dataset_problems(cfg: Config, keys: Sequence[str]) -> Tuple[List[str], dict]:
    """Empty or unreadable datasets and bad files (zero-byte, truncated, not an image,
    multi-channel labels) of the dataloaders ``keys``; also returns the class count of
    each labelled training dataset (config key -> count)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    problems: List[str] = []
    classes = {}
    for loader_key in keys:
        loader = cfg.get(loader_key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for key, node in _leaf_datasets(loader['dataset'], f'{loader_key}.dataset'):
            with_labels = _loads_labels(node.get('pipeline'))
            folder = _folder_problem(node, key)
            if folder:
                problems.append(folder)
                continue
            node = copy.deepcopy(node)
            node['pipeline'] = []
            node['serialize_data'] = False  # mmengine fails on an empty list otherwise
            try:
                dataset = DATASETS.build(node)
            except (OSError, ValueError, KeyError, AssertionError) as err:
                root = node.get('data_root')
                problems.append(f'{key}: {_original_message(err)}'
                                f'{_folder_hint(root)}; point {key}.data_root at the '
                                'dataset (see docs/dataset_preparation.md)')
                continue
            if len(dataset) == 0:
                img_dir = getattr(dataset, 'data_prefix', {}).get('img_path')
                suffix = getattr(dataset, 'img_suffix', '')
                problems.append(
                    f'{key}: no images ending in {suffix!r} under {img_dir}'
                    f'{_folder_hint(img_dir)}; point {key}.data_root (and data_prefix) '
                    'at the images, see docs/dataset_preparation.md')
                continue
            if with_labels and loader_key == 'train_dataloader' and \
                    'classes' in dataset.metainfo:  # trained on: ids must fit the head
                classes[key] = len(dataset.metainfo['classes'])
            if getattr(dataset, 'backend_args', None):
                continue  # remote files: not scanned
            problems += _file_problems(dataset, key, with_labels)
    return problems, classes


def _file_problems(dataset: Any, key: str, with_labels: bool) -> List[str]:
    """Bad files of ``dataset``; the reads (two small ones per file) run in threads."""
    checks = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        checks.append(('image', info['img_path'], False))
        if with_labels and info.get('seg_map_path'):
            checks.append(('label', info['seg_map_path'], True))
    with ThreadPoolExecutor(_SCAN_THREADS) as pool:
        found = pool.map(lambda c: image_file_problem(c[1], label=c[2]), checks)
        bad = [f'{kind} {path} {problem}'
               for (kind, path, _), problem in zip(checks, found) if problem]
    if not bad:
        return []
    listed = '; '.join(bad[:_MAX_LISTED]) + (
        f'; and {len(bad) - _MAX_LISTED} more' if len(bad) > _MAX_LISTED else '')
    return [f'{key}: {len(bad)} bad file(s): {listed}. Re-download or re-convert them '
            '(tools/dataset_converters/), or remove the image and its label to leave '
            'the pair out']


def num_classes_problems(cfg: Config, classes: dict) -> List[str]:
    """A head predicting fewer classes than a labelled dataset has."""
    problems = []
    for head_key, head in _decode_heads(cfg.get('model', {})):
        n = head.get('num_classes')
        for data_key, count in classes.items():
            if isinstance(n, int) and n < count:
                problems.append(
                    f'{head_key}.num_classes={n} but {data_key} has {count} classes: '
                    f'labels >= {n} cannot be trained on; set {head_key}.num_classes='
                    f'{count} (or give the dataset metainfo=dict(classes=...) of the '
                    'classes its labels use)')
    return problems


# ------------------------------------------------------------------------- resume
def check_resume(cfg: Config) -> None:
    """With ``cfg.resume``: the checkpoint to resume exists, loads, and was written by a
    run of the same method."""
    if not cfg.get('resume') or cfg.get('load_from'):
        return
    from mmengine.runner import find_latest_checkpoint
    work_dir = cfg.work_dir
    path = find_latest_checkpoint(work_dir)
    if path is None:
        raise MissingInputError(
            f'--resume: no checkpoint to resume in {work_dir} (no last_checkpoint file): '
            'drop --resume to start a new run, or give the --work-dir of the run to '
            'resume')
    local = osp.join(work_dir, osp.basename(path))
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if hook.get('type') == 'AtomicCheckpointHook' and osp.isfile(local) and \
            osp.realpath(osp.dirname(path)) != osp.realpath(work_dir):
        path = local  # a copied / moved work dir: the hook resumes its own copy
    if not osp.isfile(path):
        hint = f' (this work dir has {local}: write that path there)' \
            if osp.isfile(local) else ''
        raise MissingInputError(
            f'--resume: {osp.join(work_dir, "last_checkpoint")} points at {path}, which '
            'does not exist: write the path of an existing checkpoint of this run into '
            f'that file{hint}, or drop --resume')
    from mmseg_sfda.utils.checkpoint_compat import CheckpointFileError, load_checkpoint_file
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu')
    except CheckpointFileError as err:
        raise BadInputError(
            f'--resume: {err} If the run was killed while saving it, delete it and '
            f'write the previous checkpoint\'s path into {work_dir}/last_checkpoint; '
            'nothing else in the work dir was changed') from None
    saved = _model_type(ckpt.get('meta', {}).get('cfg') if isinstance(ckpt, dict) else None)
    wanted = cfg.get('model', {}).get('type')
    if saved and wanted and saved != wanted:
        raise BadInputError(
            f'--resume: {work_dir} holds a run of {saved} ({path}), but this config '
            f'trains {wanted}: give this run its own --work-dir, or resume with the '
            'config that run used')


def _model_type(cfg_text: Optional[str]) -> Optional[str]:
    if not isinstance(cfg_text, str):
        return None
    try:
        return Config.fromstring(cfg_text, '.py').get('model', {}).get('type')
    except Exception:  # an unreadable saved config: no verdict
        found = re.search(r"model = dict\([^)]*?type='(\w+)'", cfg_text, re.S)
        return found.group(1) if found else None


# --------------------------------------------------------------------- the checks
def check_run(cfg: Config,
              loaders: Sequence[str] = ('train_dataloader', 'val_dataloader',
                                        'test_dataloader')) -> None:
    """Every preflight check of a run over ``loaders`` (paths are :func:`check_inputs`';
    ``--cfg-options`` keys are checked by ``load_config``): training values (with
    ``train_dataloader``), model arguments, datasets and their files, class counts,
    resume. Raises one :class:`BadInputError` listing every problem."""
    problems = config_value_problems(cfg) if 'train_dataloader' in loaders else []
    problems += model_arg_problems(cfg)
    data_problems, classes = dataset_problems(cfg, loaders)
    problems += data_problems + num_classes_problems(cfg, classes)
    if problems:
        raise BadInputError('\n  - '.join(['cannot run this config:'] + problems))
    check_resume(cfg)


def add_label_check(cfg: Config) -> None:
    """Add ``LabelRangeCheckHook`` to ``cfg.custom_hooks`` (once)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'LabelRangeCheckHook' for h in hooks):
        hooks.append(dict(type='LabelRangeCheckHook'))
    cfg.custom_hooks = hooks


# --------------------------------------------------------------- errors -> message
_REGISTRY = re.compile(r'(\S+) is not in the (\S+) registry')
#: components whose own errors already name the file / key and the fix
_CLEAR_PREFIXES = ('PseudoLabelHook: ', 'LoadPseudoLabel: ', 'DomainPairDataset: ',
                   '--amp needs ')
_KWARG = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")


def explain_error(err: BaseException, cfg: Optional[Config] = None) -> Optional[str]:
    """One message for a known failure of building or running ``cfg`` (None: unknown,
    keep the traceback)."""
    text = _original_message(err)
    found = _REGISTRY.search(text)
    if found and isinstance(err, KeyError):
        name, registry = found.groups()
        keys = [k for k, node in _find(dict(cfg or {}))
                if isinstance(node, dict) and node.get('type') == name]
        where = f'{keys[0]}.type' if keys else 'a type'
        return (f'{where}={name!r} is not a registered {registry} component'
                f'{_did_you_mean(name, _registry_names(registry))}: fix the name, or '
                'add the module that registers it to custom_imports')
    found = _KWARG.search(text)
    if found and isinstance(err, TypeError):
        name, arg = found.groups()
        keys = [k for k, node in _find(dict(cfg or {}))
                if isinstance(node, dict) and node.get('type') == name and arg in node]
        params = _class_params(name)
        return (f'{keys[0] if keys else name}.{arg} is not an argument of {name}'
                f'{_did_you_mean(arg, params)}; its arguments: {", ".join(params)}')
    if 'Expected more than 1 value per channel when training' in text:
        batch = ((cfg or {}).get('train_dataloader') or {}).get('batch_size')
        return (f'a BatchNorm layer got a single value per channel (train_dataloader.'
                f'batch_size={batch}; e.g. the image-pool branch of DeepLabV3\'s ASPP '
                'head pools each image to 1x1): train with at least 2 images per GPU, or '
                "use norm_cfg=dict(type='SyncBN') over several GPUs, or a GroupNorm model")
    found = re.search(r"failed to load image: (.+)|cannot identify image file '(.+?)'", text)
    if found:
        path = found.group(1) or found.group(2)
        return (f'cannot decode image {path} (corrupt or not an image): re-download or '
                're-convert it, or remove it (and its label) from the dataset')
    if re.search(r'needs .* \[\w+\]; .*Fix: ', text) and isinstance(err, ValueError):
        return text  # a method's unmet requirement (mmseg_sfda.models.utils.requirements)
    if text.startswith('source_checkpoint ') and isinstance(err, (KeyError, ValueError)):
        return f'model.{text}'  # check_compatible: the source model does not fit
    if text.startswith(_CLEAR_PREFIXES) and \
            isinstance(err, (OSError, ValueError, KeyError, RuntimeError)):
        return text  # our components' own messages name the file and the fix
    return None


def _original_message(err: BaseException) -> str:
    """The message of ``err`` without KeyError's quotes and the worker traceback that
    PyTorch folds into errors re-raised from loader workers."""
    text = err.args[0] if isinstance(err, KeyError) and err.args and \
        isinstance(err.args[0], str) else str(err)
    if 'Original Traceback' in text:
        marker = f'{type(err).__name__}: '
        text = text[text.rfind(marker) + len(marker):] if marker in text else text
    return text.strip()


def _registries() -> List[Any]:
    import mmseg.registry
    from mmengine.registry import Registry
    return [r for r in vars(mmseg.registry).values() if isinstance(r, Registry)]


def _registry_names(scoped: str) -> List[str]:
    """Every name the registry ``scoped`` (``'mmseg::model'``) and its parents know."""
    names = set()
    for registry in _registries():
        if f'{registry.scope}::{registry.name}' == scoped or registry.name == scoped:
            while registry is not None:
                names |= set(registry.module_dict)
                registry = registry.parent
    return sorted(names)


def _class_params(name: str) -> List[str]:
    for registry in _registries():
        cls = registry.get(name)
        if inspect.isclass(cls):
            return [n for n in inspect.signature(cls.__init__).parameters if n != 'self']
    return []


@contextlib.contextmanager
def exit_on_bad_input(cfg: Optional[Config] = None, prefix: str = '') -> Iterator[None]:
    """Turn bad input raised in the block into ``SystemExit('error: <prefix>...')``."""
    try:
        yield
    except SystemExit:
        raise
    except Exception as err:  # noqa: B902  (unknown errors are re-raised)
        message = bad_input_message(err) or explain_error(err, cfg)
        if message is None:
            raise
        raise SystemExit(f'error: {prefix}{message}') from None
