"""Every config under configs/ loads, imports mmseg_sfda and builds its model."""
import copy
import functools
import glob
import os.path as osp

import pytest
import torch
import mmengine.config.utils
from mmengine.config import Config

from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                            recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in p)


def params():
    for path in CONFIGS:
        yield pytest.param(path, id=path[len('configs/'):])


@functools.lru_cache(maxsize=None)
def load(path):
    return Config.fromfile(osp.join(REPO, path))


@pytest.fixture(scope='module', autouse=True)
def cached_mim_metafiles():
    """mmengine re-parses all of mmseg's ~160 metafile.yml for every `mmseg::` base
    (~0.5 s each, the bulk of Config.fromfile); they do not change during the session."""
    original = getattr(mmengine.config.utils, 'load', None)
    if original is None:  # another mmengine: nothing to cache
        yield
        return

    @functools.lru_cache(maxsize=None)
    def cached_load(path):
        return original(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mmengine.config.utils, 'load', cached_load)
        yield


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


@pytest.fixture(scope='module')
def placeholder_checkpoint(tmp_path_factory):
    """Stands for a trained source model: construction only checks that it exists."""
    path = tmp_path_factory.mktemp('ckpt') / 'source.pth'
    path.write_bytes(b'')
    return str(path)


def test_configs_are_found():
    assert 'configs/toy/deeplabv3_r18_toy-gta5_source.py' in CONFIGS
    assert not any('_base_' in p for p in CONFIGS)


@pytest.mark.parametrize('path', [pytest.param(p, id=p[len('configs/'):]) for p in CONFIGS])
def test_config_loads_with_custom_imports(path):
    cfg = load(path)
    imports = cfg.get('custom_imports')
    assert imports is not None, f'{path} has no custom_imports'
    assert 'mmseg_sfda' in imports['imports']
    assert imports.get('allow_failed_imports') is False
    assert cfg.get('default_scope') == 'mmseg'
    assert 'type' in cfg.model


def build_model(path, checkpoint, device):
    cfg = copy.deepcopy(load(path))
    if cfg.model.get('source_checkpoint'):
        cfg.model.source_checkpoint = checkpoint  # no weights are loaded: no init_weights
    with torch.device(device):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', list(params()))
def test_model_builds(path, placeholder_checkpoint):
    # full-size models on the meta device: the same constructors, without allocating
    # and initialising hundreds of MB of weights; the toy ones are built for real below
    model = build_model(path, placeholder_checkpoint, 'meta')
    assert isinstance(model, torch.nn.Module)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('path', [pytest.param(p, id=p[len('configs/'):]) for p in CONFIGS
                                  if p.startswith('configs/toy/')])
def test_toy_model_forward(path, placeholder_checkpoint):
    model = build_model(path, placeholder_checkpoint, 'cpu').eval()
    model_cfg = load(path).model
    num_classes = model_cfg.get('segmentor', model_cfg).decode_head.num_classes
    assert num_classes == 19  # the Cityscapes label space of every toy domain
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 128), None, mode='tensor')
    # DeepLabV3-R18 at output stride 8, one logit map per class
    assert tuple(out.shape) == (1, num_classes, 8, 16)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('path', [pytest.param(p, id=p[len('configs/'):]) for p in CONFIGS])
def test_default_hooks_complete(path):
    """tools/test.py --show-dir needs the visualization hook; every hook is buildable."""
    hooks = load(path).default_hooks
    assert {'timer', 'logger', 'param_scheduler', 'checkpoint', 'sampler_seed',
            'visualization'} <= set(hooks), path
    assert all('type' in hook for hook in hooks.values()), path


@pytest.mark.parametrize('path', [pytest.param(p, id=p[len('configs/'):]) for p in CONFIGS])
def test_runs_are_guarded(path):
    """Kill-safe checkpoints, a stop at the first NaN / Inf, exact resume of random draws."""
    hooks = load(path).default_hooks
    assert hooks.checkpoint.type == 'AtomicCheckpointHook', path
    assert hooks.get('non_finite_guard', {}).get('type') == 'NonFiniteGuardHook', path
    assert hooks.get('rng_state', {}).get('type') == 'RNGStateHook', path
