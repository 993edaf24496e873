"""load_config (work_dir priority) and enable_amp (single and per-module wrappers)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_sfda.apis import enable_amp, load_config

SGD = dict(type='SGD', lr=0.01, momentum=0.9)


def write_config(tmp_path, name='my_exp.py', work_dir=None):
    text = 'optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01))\n'
    text += 'model = dict(type="Toy", depth=18)\n'
    if work_dir is not None:
        text += f'work_dir = {work_dir!r}\n'
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_work_dir_from_cli_beats_config(tmp_path):
    path = write_config(tmp_path, work_dir='from_config')
    cfg = load_config(path, work_dir='from_cli')
    assert cfg.work_dir == 'from_cli'


def test_work_dir_from_config_beats_default(tmp_path):
    cfg = load_config(write_config(tmp_path, work_dir='from_config'))
    assert cfg.work_dir == 'from_config'


def test_work_dir_default_is_named_after_the_config(tmp_path):
    cfg = load_config(write_config(tmp_path, name='deeplabv3_toy.py'))
    assert cfg.work_dir == osp.join('./work_dirs', 'deeplabv3_toy')


def test_cfg_options_and_launcher(tmp_path):
    cfg = load_config(write_config(tmp_path), cfg_options={'model.depth': 50, 'work_dir': 'opt'},
                      launcher='pytorch')
    assert isinstance(cfg, Config)
    assert cfg.model.depth == 50 and cfg.model.type == 'Toy'
    assert cfg.launcher == 'pytorch'
    assert cfg.work_dir == 'opt'  # an option counts as the config's own work_dir
    assert load_config(write_config(tmp_path), {'work_dir': 'opt'}, 'cli').work_dir == 'cli'


def test_missing_config_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match='config file not found: .*nope.py'):
        load_config(str(tmp_path / 'nope.py'))


def test_enable_amp_needs_cuda():
    assert not torch.cuda.is_available()  # this machine; the message must say why
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=SGD)))
    with pytest.raises(RuntimeError, match='--amp needs a CUDA device'):
        enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # left as it was


@pytest.fixture
def cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)


def test_enable_amp_single_wrapper(cuda):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=SGD, clip_grad=None)))
    enable_amp(cfg)
    assert cfg.optim_wrapper == dict(type='AmpOptimWrapper', loss_scale='dynamic',
                                     optimizer=SGD, clip_grad=None)


def test_enable_amp_single_wrapper_without_type(cuda):
    cfg = Config(dict(optim_wrapper=dict(optimizer=SGD)))  # mmengine's default OptimWrapper
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'


def test_enable_amp_keeps_an_amp_wrapper_as_is(cuda):
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', loss_scale=512.0,
                                         optimizer=SGD)))
    enable_amp(cfg)
    assert cfg.optim_wrapper.loss_scale == 512.0


def test_enable_amp_refuses_other_wrappers(cuda):
    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper', optimizer=SGD)))
    with pytest.raises(ValueError, match='optim_wrapper.type to be OptimWrapper, got '
                       'ApexOptimWrapper'):
        enable_amp(cfg)


def test_enable_amp_multi_module_dict(cuda):
    cfg = Config(dict(optim_wrapper=dict(
        constructor='MultiModuleOptimWrapperConstructor',
        segmentor=dict(type='OptimWrapper', optimizer=SGD,
                       paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)})),
        generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
        discriminator=dict(type='AmpOptimWrapper', loss_scale=256.0,
                           optimizer=dict(type='Adam', lr=1e-4)))))
    enable_amp(cfg)
    ow = cfg.optim_wrapper
    assert ow.constructor == 'MultiModuleOptimWrapperConstructor'
    assert set(ow) == {'constructor', 'segmentor', 'generator', 'discriminator'}
    assert ow.segmentor.type == ow.generator.type == ow.discriminator.type == 'AmpOptimWrapper'
    assert ow.segmentor.loss_scale == ow.generator.loss_scale == 'dynamic'
    assert ow.discriminator.loss_scale == 256.0
    assert ow.segmentor.paramwise_cfg.custom_keys.head.lr_mult == 10
    assert ow.generator.optimizer == dict(type='Adam', lr=1e-3)


def test_enable_amp_multi_module_names_the_part(cuda):
    cfg = Config(dict(optim_wrapper=dict(
        constructor='MultiModuleOptimWrapperConstructor',
        segmentor=dict(type='OptimWrapper', optimizer=SGD),
        generator=dict(type='ApexOptimWrapper', optimizer=SGD))))
    with pytest.raises(ValueError, match='optim_wrapper.generator.type'):
        enable_amp(cfg)


def test_enable_amp_single_wrapper_with_constructor_and_default_type(cuda):
    cfg = Config(dict(optim_wrapper=dict(
        constructor='LearningRateDecayOptimizerConstructor', optimizer=SGD,
        paramwise_cfg=dict(num_layers=12, decay_rate=0.9))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.get('type') == 'AmpOptimWrapper'
