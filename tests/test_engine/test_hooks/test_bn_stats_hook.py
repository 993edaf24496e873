"""BNStatsHook: target statistics before iteration 0, at the end and before pseudo
labelling, as the model's bn_stats policy says."""
import copy
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.nn.modules.batchnorm import _BatchNorm

import mmseg_sfda  # noqa: F401
from mmseg.registry import HOOKS, MODELS
from mmseg_sfda.pseudo_labels.dataset_scorer import DatasetScorer
from mmseg_sfda.models.utils.adabn import adapt_bn_statistics
from runner_utils import write_cityscapes_images
from tiny_models import tiny_segmentor_cfg

H, W = 32, 64
NUM_CLASSES = 4
PLAIN = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


@HOOKS.register_module(force=True)
class BNProbeHook(Hook):
    """Keeps the segmentor's BN statistics as they are at before_train (after
    BNStatsHook, whose priority is higher)."""
    priority = 'LOW'
    seen = {}

    def before_train(self, runner):
        BNProbeHook.seen = stats(runner.model.segmentor)


def stats(module):
    return {k: v.clone() for k, v in module.state_dict().items() if 'running_' in k}


def same(a, b):
    return all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def segmentor_cfg():
    cfg = tiny_segmentor_cfg(size=(H, W), num_classes=NUM_CLASSES)
    cfg.decode_head.dropout_ratio = 0.
    return cfg


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('target'))
    write_cityscapes_images(root, 6, H, W)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    segmentor = MODELS.build(segmentor_cfg())
    path = str(tmp_path_factory.mktemp('src') / 'source.pth')
    torch.save(dict(state_dict=segmentor.state_dict()), path)
    return root, path


def dataset(root, pipeline):
    return dict(type='CityscapesDataset', data_root=root,
                data_prefix=dict(img_path='leftImg8bit/train'), pipeline=pipeline)


def runner_cfg(data, work_dir, bn_stats, hooks=(dict(type='BNStatsHook'), ),
               iters=2) -> Config:
    root, checkpoint = data
    return Config(dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['mmseg_sfda'], allow_failed_imports=False),
        work_dir=work_dir,
        model=dict(type='DAS3Segmentor', stage='a', segmentor=segmentor_cfg(),
                   source_checkpoint=checkpoint, bn_stats=bn_stats),
        train_dataloader=dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
            dataset=dataset(root, PLAIN[:1] + [dict(type='RandomFlip', prob=0.5)] +
                            PLAIN[1:])),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                           interval=iters),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(hooks) + [dict(type='BNProbeHook')],
        randomness=dict(seed=0),
        log_level='WARNING'))


def adabn_of(segmentor, root):
    """AdaBN on the target train images as scored (no flip), batch 2, in order."""
    segmentor = copy.deepcopy(segmentor)
    loader = Runner.build_dataloader(dict(
        batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset(root, PLAIN)))
    adapt_bn_statistics(segmentor, loader, show_progress=False)
    return stats(segmentor)


def source_segmentor(data):
    segmentor = MODELS.build(segmentor_cfg())
    segmentor.load_state_dict(torch.load(data[1])['state_dict'])
    return segmentor


def test_init_target_starts_from_adabn_statistics(data, tmp_path):
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), dict(init='target')))
    runner.train()
    expected = adabn_of(source_segmentor(data), data[0])
    assert same(BNProbeHook.seen, expected)
    assert not same(expected, stats(source_segmentor(data)))  # AdaBN moved them


def test_init_source_keeps_the_source_statistics(data, tmp_path):
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), None))
    runner.train()
    assert same(BNProbeHook.seen, stats(source_segmentor(data)))


@pytest.mark.parametrize('refresh', [True, False])
def test_refresh_re_estimates_after_the_last_iteration(data, tmp_path, refresh):
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), dict(refresh=refresh)))
    runner.train()
    segmentor = runner.model.segmentor
    assert same(stats(segmentor), adabn_of(segmentor, data[0])) is refresh
    # the final checkpoint holds them
    saved = torch.load(str(tmp_path / 'iter_2.pth'), map_location='cpu',
                       weights_only=False)['state_dict']  # written by this test
    assert same({k: saved['segmentor.' + k] for k in stats(segmentor)}, stats(segmentor))


def test_resumed_run_keeps_its_statistics(data, tmp_path):
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), dict(init='target')))
    runner.model.init_weights()
    runner.train_loop._iter = 1  # as after loading a checkpoint of iteration 1
    before = stats(runner.model.segmentor)
    hook = [h for h in runner.hooks if type(h).__name__ == 'BNStatsHook'][0]
    hook.before_train(runner)
    assert same(stats(runner.model.segmentor), before)
    assert runner.model.bn_stats_ready


def test_policy_without_the_hook_is_a_clear_error(data, tmp_path):
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), dict(init='target'),
                                        hooks=()))
    with pytest.raises(RuntimeError, match="dict\\(type='BNStatsHook'\\)"):
        runner.train()


def test_bad_batch_size_is_a_clear_error():
    with pytest.raises(ValueError, match='batch_size'):
        HOOKS.build(dict(type='BNStatsHook', batch_size=1))


# ------------------------------------------------------------ pseudo labelling
def self_training_cfg(data, work_dir, bn_stats, with_hook=True) -> Config:
    root, checkpoint = data
    cfg = runner_cfg(data, work_dir, bn_stats, iters=2)
    cfg.model = dict(type='SelfTrainingSegmentor', segmentor=segmentor_cfg(),
                     source_checkpoint=checkpoint, bn_stats=bn_stats)
    cfg.train_dataloader.dataset = dataset(root, [
        dict(type='LoadImageFromFile'), dict(type='LoadPseudoLabel'),
        dict(type='PackSegInputs')])
    label = dict(type='PseudoLabelHook', round_iters=1, max_rounds=2, num_vis=0,
                 dataloader=dict(batch_size=2, num_workers=0,
                                 dataset=dataset(root, PLAIN)),
                 policy=dict(type='class_portion', portion=0.5))
    cfg.custom_hooks = ([dict(type='BNStatsHook')] if with_hook else []) + [label]
    return cfg


def test_pseudo_labels_are_made_with_refreshed_target_statistics(data, tmp_path,
                                                                 monkeypatch):
    """refresh=True: every labelling round sees AdaBN statistics of the current
    weights (round 0: the source weights, labelled in before_train)."""
    seen = []
    original = DatasetScorer.score_round

    def recording(self, model, *args):
        seen.append((stats(model), adabn_of(model, data[0])))
        return original(self, model, *args)

    monkeypatch.setattr(DatasetScorer, 'score_round', recording)
    runner = Runner.from_cfg(self_training_cfg(data, str(tmp_path), dict(refresh=True)))
    runner.train()
    assert len(seen) == 2  # rounds 0 and 1
    assert all(same(at_labelling, adabn) for at_labelling, adabn in seen)


def test_refresh_without_the_hook_is_a_clear_error(data, tmp_path):
    cfg = self_training_cfg(data, str(tmp_path), dict(refresh=True), with_hook=False)
    with pytest.raises(RuntimeError, match='BNStatsHook'):
        Runner.from_cfg(cfg).train()


def test_estimates_leave_the_random_state_alone(data, tmp_path):
    """Dropout runs in AdaBN's train-mode passes; the run's random stream must not
    depend on the policy."""
    runner = Runner.from_cfg(runner_cfg(data, str(tmp_path), dict(init='target')))
    runner.model.init_weights()
    runner.model.segmentor.decode_head.dropout_ratio = 0.5
    runner.model.segmentor.decode_head.dropout = torch.nn.Dropout2d(0.5)
    hook = [h for h in runner.hooks if type(h).__name__ == 'BNStatsHook'][0]
    runner.train_loop  # built (its loader draws random numbers), as in a run
    torch.manual_seed(3)
    state = torch.get_rng_state()
    hook.refresh(runner)
    assert torch.equal(torch.get_rng_state(), state)


def test_model_without_batch_norm_is_left_alone_with_a_warning():
    """A LayerNorm / GroupNorm segmentor (mixing matrix): nothing to re-estimate, one
    warning, no error."""
    from mmengine.logging import MMLogger

    class FakeRunner:
        iter = 0
        model = torch.nn.Module()

    FakeRunner.model.segmentor = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                                 torch.nn.GroupNorm(2, 4))
    hook = HOOKS.build(dict(type='BNStatsHook'))
    logger = MMLogger.get_instance('test_bn_stats_without_bn')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    hook.refresh(FakeRunner)
    hook.refresh(FakeRunner)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'no BatchNorm layer' in warnings[0]
