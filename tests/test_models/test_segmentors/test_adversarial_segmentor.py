"""AdversarialSegmentor: the example of docs/adding_a_method.md (its segmentor file and
its config, run as printed) trains in two steps; gradient-only passes restore each
parameter's own flag; the base forwards every DomainAdaptiveSegmentor argument."""
import os.path as osp
import re
import sys
import types

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from torch import nn

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from tiny_models import tiny_segmentor_cfg  # noqa: E402

REPO = osp.join(osp.dirname(__file__), '..', '..', '..')
DOC = osp.join(REPO, 'docs', 'adding_a_method.md')
H, W, NUM_CLASSES = 32, 64, 19


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


@pytest.fixture(scope='module')
def doc_example(tmp_path_factory):
    """The page's segmentor file as the module ``my_method`` and its config, loaded with
    the repository's ``configs/_base_``."""
    with open(DOC) as f:
        method_src, config_src = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    MODELS.module_dict.pop('OutputAdversarialSegmentor', None)  # a re-run in-process
    module = types.ModuleType('my_method')
    exec(compile(method_src, 'my_method.py', 'exec'), module.__dict__)
    sys.modules['my_method'] = module
    folder = tmp_path_factory.mktemp('configs') / 'toy'
    folder.mkdir()
    base = osp.abspath(osp.join(REPO, 'configs', '_base_'))
    path = folder / 'my-method_deeplabv3_r18_toy-gta2cs.py'
    path.write_text(config_src.replace("'../_base_/", f"'{base}/"))
    yield module, Config.fromfile(str(path))
    sys.modules.pop('my_method', None)


def domain(n: int, labelled: bool, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        if labelled:
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, NUM_CLASSES, (1, H, W), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build(cfg: Config, **kwargs):
    """The config's model around the tiny segmentor (no source checkpoint)."""
    model_cfg = cfg.model.copy()
    settings = dict(segmentor=tiny_segmentor_cfg((H, W), NUM_CLASSES),
                    source_checkpoint=None, **kwargs)
    for key, value in settings.items():  # replace, not merge (ConfigDict.update merges)
        model_cfg[key] = value
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_doc_example_trains_in_two_steps(doc_example):
    module, cfg = doc_example
    assert cfg.model.type == 'OutputAdversarialSegmentor'
    model, optim = build(cfg)
    assert isinstance(model, module.OutputAdversarialSegmentor)
    assert model.lambda_adv_main == 0.2 and model.discriminators() == [
        ('discriminator', 'main')]
    before = {name: state(getattr(model, name)) for name in ('segmentor', 'discriminator')}
    logs = [model.train_step(dict(source=domain(2, True, s), target=domain(2, False, s + 1)),
                             optim) for s in (0, 10)]
    for log in logs:
        assert {'seg.loss', 'src.decode.loss_ce', 'seg.loss_adv_main', 'disc.loss_main',
                'disc.acc_main'} <= set(log)
        assert all(torch.isfinite(v) and not v.requires_grad for v in log.values())
        # the sum of the logged (weighted) terms, by mmengine's parse_losses
        torch.testing.assert_close(log['seg.loss'],
                                   log['src.decode.loss_ce'] + log['seg.loss_adv_main'])
    for name, old in before.items():
        new = getattr(model, name).state_dict()
        assert any(not torch.equal(v, new[k]) for k, v in old.items()), f'{name} idle'
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_logged_adversarial_term_is_weighted(doc_example, monkeypatch):
    """seg.loss_adv_main is lambda_adv_main times the method's adversarial loss."""
    _, cfg = doc_example
    model, optim = build(cfg, lambda_adv_main=0.5)
    raw = []
    adversarial_loss = model.adversarial_loss
    monkeypatch.setattr(model, 'adversarial_loss',
                        lambda *args: raw.append(adversarial_loss(*args)) or raw[-1])
    log = model.train_step(dict(source=domain(2, True, 0), target=domain(2, False, 1)),
                           optim)
    assert len(raw) == 1 and float(raw[0]) > 0
    torch.testing.assert_close(log['seg.loss_adv_main'], 0.5 * raw[0].detach())


def test_relaying_gradients_restores_each_flag(doc_example):
    """Inside: no discriminator parameter takes a gradient; after: each one's own flag,
    a parameter frozen by the config stays frozen (never forced to True)."""
    _, cfg = doc_example
    model, _ = build(cfg)
    frozen = next(model.discriminator.parameters())
    frozen.requires_grad_(False)
    with model.relaying_gradients(model.discriminator) as (bare, ):
        assert bare is model.discriminator
        assert not any(p.requires_grad for p in bare.parameters())
        out = bare(torch.rand(1, NUM_CLASSES, 32, 32, requires_grad=True))
        assert out.requires_grad  # gradients still pass through to the input
    assert not frozen.requires_grad
    assert all(p.requires_grad for p in model.discriminator.parameters() if p is not frozen)


def test_base_forwards_every_domain_adaptive_argument(doc_example, tmp_path):
    """with_source_model / load_source_into_segmentor / bn_stats reach
    DomainAdaptiveSegmentor through the base's **kwargs (what SIM relies on)."""
    _, cfg = doc_example
    seg = MODELS.build(tiny_segmentor_cfg((H, W), NUM_CLASSES))
    path = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict={f'segmentor.{k}': v for k, v in seg.state_dict().items()}),
               path)
    model_cfg = cfg.model.copy()
    settings = dict(segmentor=tiny_segmentor_cfg((H, W), NUM_CLASSES),
                    source_checkpoint=path, with_source_model=True,
                    load_source_into_segmentor=False,
                    bn_stats=dict(init='source', track='target'))
    for key, value in settings.items():
        model_cfg[key] = value
    model = MODELS.build(model_cfg)
    model.init_weights()
    assert model.with_source_model and not model.load_source_into_segmentor
    assert model.bn_stats.track == 'target'
    key = next(k for k, v in seg.state_dict().items() if v.dtype.is_floating_point)
    assert torch.equal(model.source_model.state_dict()[key], seg.state_dict()[key])


def test_segmentor_losses_is_the_step_every_method_must_write():
    from mmseg_sfda.models.segmentors.adversarial_segmentor import AdversarialSegmentor
    assert AdversarialSegmentor.__abstractmethods__ == frozenset({'segmentor_losses'})
