"""MultiModuleOptimWrapperConstructor: one optimizer wrapper per named child module."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch import nn

from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmseg_sfda.engine import MultiModuleOptimWrapperConstructor
from mmseg_sfda.engine import multi_module_optim_wrapper_constructor as module_under_test


class Segmentor(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2, bias=False)
        self.head = nn.Linear(2, 1, bias=False)


class Model(BaseModel):
    """A segmentor and a generator, each updated by its own optimizer wrapper.

    The loss of each part is the sum of its weights, so every weight has gradient 1
    and plain SGD moves it by exactly the learning rate of its group.
    """

    def __init__(self):
        super().__init__()
        self.segmentor = Segmentor()
        self.generator = nn.Linear(1, 1, bias=False)
        for p in self.parameters():
            nn.init.constant_(p, 1.0)
        self.lrs = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs

    def train_step(self, data, optim_wrapper):
        # the lr each parameter is updated with, per module, in parameter order
        self.lrs.append({name: [lr_of(optim_wrapper[name], p)
                                for p in getattr(self, name).parameters()]
                         for name in ('segmentor', 'generator')})
        log = {}
        for name in ('segmentor', 'generator'):
            module = getattr(self, name)
            with optim_wrapper[name].optim_context(module):
                loss = sum(p.sum() for p in module.parameters())
            optim_wrapper[name].update_params(loss)
            log[f'loss_{name}'] = loss.detach()
        return log


def sgd(lr, **kwargs):
    return dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=lr, momentum=0,
                                                   weight_decay=0), **kwargs)


def lr_of(wrapper, param):
    groups = [g for g in wrapper.optimizer.param_groups if any(p is param for p in g['params'])]
    assert len(groups) == 1
    return groups[0]['lr']


def test_one_wrapper_per_named_child():
    model = Model()
    wrappers = MultiModuleOptimWrapperConstructor(
        dict(segmentor=sgd(0.1), generator=dict(type='OptimWrapper',
                                                optimizer=dict(type='Adam', lr=0.01))))(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert sorted(wrappers.keys()) == ['generator', 'segmentor']
    assert isinstance(wrappers['segmentor'].optimizer, torch.optim.SGD)
    assert isinstance(wrappers['generator'].optimizer, torch.optim.Adam)

    def params(wrapper):
        return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}

    assert params(wrappers['segmentor']) == {id(p) for p in model.segmentor.parameters()}
    assert params(wrappers['generator']) == {id(p) for p in model.generator.parameters()}
    assert lr_of(wrappers['segmentor'], model.segmentor.head.weight) == 0.1
    assert lr_of(wrappers['generator'], model.generator.weight) == 0.01


def test_only_configured_modules_get_a_wrapper():
    model = Model()
    wrappers = MultiModuleOptimWrapperConstructor(dict(generator=sgd(0.5)))(model)
    assert list(wrappers.keys()) == ['generator']


def test_none_entries_build_no_wrapper():
    """A child config drops a part with e.g. optim_wrapper=dict(discriminator=None)."""
    model = Model()
    wrappers = MultiModuleOptimWrapperConstructor(
        dict(segmentor=sgd(0.1), discriminator=None))(model)  # no such module: not looked up
    assert list(wrappers.keys()) == ['segmentor']
    with pytest.raises(ValueError, match='every entry is None'):
        MultiModuleOptimWrapperConstructor(dict(segmentor=None, generator=None))


def test_per_module_paramwise_cfg():
    model = Model()
    cfg = dict(segmentor=sgd(0.1, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)})),
               generator=sgd(0.01))
    constructor = MultiModuleOptimWrapperConstructor(cfg)
    wrappers = constructor(model)
    seg = wrappers['segmentor']
    assert lr_of(seg, model.segmentor.head.weight) == pytest.approx(1.0)
    assert lr_of(seg, model.segmentor.backbone.weight) == pytest.approx(0.1)
    assert lr_of(wrappers['generator'], model.generator.weight) == pytest.approx(0.01)
    # the constructor's own config is left untouched (built twice, same result)
    assert 'paramwise_cfg' in constructor.optim_wrapper_cfg['segmentor']
    again = constructor(Model())['segmentor']
    assert sorted(g['lr'] for g in again.optimizer.param_groups) == pytest.approx([0.1, 1.0])


def test_unknown_module_lists_children():
    constructor = MultiModuleOptimWrapperConstructor(dict(discriminator=sgd(0.1)))
    with pytest.raises(KeyError, match=r"no sub-module 'discriminator'; its sub-modules are "
                       r".*'segmentor', 'generator'"):
        constructor(Model())


def test_non_module_attribute_is_refused():
    constructor = MultiModuleOptimWrapperConstructor(dict(lrs=sgd(0.1)))
    with pytest.raises(KeyError, match="no sub-module 'lrs'"):
        constructor(Model())


def test_top_level_paramwise_cfg_raises():
    with pytest.raises(ValueError, match='inside each module entry'):
        MultiModuleOptimWrapperConstructor(dict(segmentor=sgd(0.1)),
                                           paramwise_cfg=dict(custom_keys={}))


@pytest.mark.parametrize('cfg', [dict(), dict(segmentor=dict(type='OptimWrapper')),
                                 dict(segmentor=0.1)])
def test_bad_entries_raise(cfg):
    with pytest.raises(ValueError, match='MultiModuleOptimWrapperConstructor needs|'
                                         r"optim_wrapper\.segmentor must be a dict"):
        MultiModuleOptimWrapperConstructor(cfg)


def test_unwraps_model_wrappers(monkeypatch):

    class Wrapper(nn.Module):

        def __init__(self, module):
            super().__init__()
            self.module = module

    monkeypatch.setattr(module_under_test, 'is_model_wrapper',
                        lambda m: isinstance(m, Wrapper))
    model = Model()
    wrappers = MultiModuleOptimWrapperConstructor(dict(generator=sgd(0.5)))(Wrapper(model))
    assert lr_of(wrappers['generator'], model.generator.weight) == 0.5


def test_registered_and_built_by_build_optim_wrapper():
    assert OPTIM_WRAPPER_CONSTRUCTORS.get('MultiModuleOptimWrapperConstructor') is \
        MultiModuleOptimWrapperConstructor
    init_default_scope('mmseg')
    model = Model()
    cfg = dict(constructor='MultiModuleOptimWrapperConstructor',
               segmentor=sgd(0.1, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)})),
               generator=sgd(0.01))
    wrappers = build_optim_wrapper(model, cfg)
    assert isinstance(wrappers, OptimWrapperDict)
    assert all(isinstance(w, OptimWrapper) for w in wrappers.values())
    assert lr_of(wrappers['segmentor'], model.segmentor.head.weight) == pytest.approx(1.0)
    assert lr_of(wrappers['segmentor'], model.segmentor.backbone.weight) == pytest.approx(0.1)
    with pytest.raises(ValueError, match='inside each module entry'):
        build_optim_wrapper(model, dict(cfg, paramwise_cfg=dict(custom_keys={})))


def test_runner_trains_each_module_on_its_own_schedule(tmp_path):
    model = Model()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        default_scope='mmseg',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.zeros(1))] * 4,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1, num_workers=0, collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(
            constructor='MultiModuleOptimWrapperConstructor',
            segmentor=sgd(0.1, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)})),
            generator=sgd(0.01)),
        param_scheduler=dict(
            # mmengine's LinearLR reaches end_factor at step end - 1 = 2:
            # factor 0.5 at iter 0, 0.5 + 0.5 * 1/2 = 0.75 at iter 1
            segmentor=dict(type='LinearLR', start_factor=0.5, end_factor=1.0, begin=0, end=3,
                           by_epoch=False),
            # 1x at iter 0, 0.1x from iter 1
            generator=dict(type='MultiStepLR', milestones=[1], gamma=0.1, by_epoch=False)),
        default_hooks=dict(checkpoint=None),
        log_level='WARNING')
    runner.train()
    assert isinstance(runner.optim_wrapper, OptimWrapperDict)
    assert set(runner.param_schedulers) == {'segmentor', 'generator'}
    assert len(model.lrs) == 2
    # segmentor params [backbone (lr 0.1), head (lr 1.0)] both follow LinearLR
    assert model.lrs[0]['segmentor'] == pytest.approx([0.05, 0.5])
    assert model.lrs[1]['segmentor'] == pytest.approx([0.075, 0.75])
    assert model.lrs[0]['generator'] == pytest.approx([0.01])
    assert model.lrs[1]['generator'] == pytest.approx([0.001])
    # gradient of every weight is 1: each moved by the sum of its two lrs
    torch.testing.assert_close(model.segmentor.backbone.weight,
                               torch.full((2, 2), 1 - 0.05 - 0.075))
    torch.testing.assert_close(model.segmentor.head.weight, torch.full((1, 2), 1 - 0.5 - 0.75))
    torch.testing.assert_close(model.generator.weight, torch.full((1, 1), 1 - 0.01 - 0.001))
