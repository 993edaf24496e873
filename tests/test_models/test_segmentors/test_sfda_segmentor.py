"""SFDASegmentor: gradients reach only the intended modules; kill-and-resume is exact."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from runner_utils import Interrupted, write_cityscapes_images  # + InterruptHook

H, W = 32, 64
SFDA_CFG = 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py'


def tiny_model_cfg(source_checkpoint: str) -> Config:
    cfg = Config.fromfile(SFDA_CFG)
    model = cfg.model
    model.source_checkpoint = source_checkpoint
    model.bn_stats = dict()  # the papers' policy: these steps run without BNStatsHook
    model.segmentor.data_preprocessor.size = (H, W)
    model.generator.out_size = (16, 32)
    model.discriminator.num_convs = 3  # 8x16 patches at K=4
    return cfg


@pytest.fixture(scope='module')
def source_checkpoint(tmp_path_factory):
    init_default_scope('mmseg')
    cfg = Config.fromfile(SFDA_CFG)
    torch.manual_seed(0)
    segmentor = MODELS.build(cfg.model.segmentor)
    path = str(tmp_path_factory.mktemp('src') / 'source.pth')
    torch.save(dict(state_dict=segmentor.state_dict()), path)
    return path


def build(source_checkpoint):
    init_default_scope('mmseg')
    cfg = tiny_model_cfg(source_checkpoint)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim


def target_batch(n: int = 4):
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8)
              for _ in range(n)]
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(n):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_train_step_updates_only_the_intended_modules(source_checkpoint):
    model, optim = build(source_checkpoint)
    frozen = state(model.source_model)
    before = {n: state(getattr(model, n)) for n in ('segmentor', 'generator',
                                                   'discriminator')}
    log = model.train_step(target_batch(), optim)
    for key in ('gen.loss_bns', 'gen.loss_mae', 'seg.loss_target', 'seg.loss_adv',
                'disc.loss_adv'):
        assert torch.isfinite(log[key]), key
    after = state(model.source_model)
    assert all(torch.equal(frozen[k], after[k]) for k in frozen), \
        'the frozen source copy changed'
    assert all(not p.requires_grad for p in model.source_model.parameters())
    for name, old in before.items():
        new = state(getattr(model, name))
        changed = [k for k in old if old[k].dtype.is_floating_point
                   and not torch.equal(old[k], new[k])]
        assert changed, f'{name} did not train'
    # all trainable modules got their gradients back on after the step
    assert all(p.requires_grad for p in model.segmentor.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_generator_step_leaves_segmentor_untouched(source_checkpoint):
    model, optim = build(source_checkpoint)
    seg, gen = state(model.segmentor), state(model.generator)
    data = model.data_preprocessor(target_batch(), True)
    model._generator_step(data['inputs'], optim, {})
    assert all(torch.equal(seg[k], v) for k, v in model.segmentor.state_dict().items()), \
        'weights or BN running statistics of the segmentor moved in the generator step'
    assert all(p.grad is None or not p.grad.any() for p in model.segmentor.parameters())
    assert any(not torch.equal(gen[k], v) for k, v in model.generator.state_dict().items())


def test_target_loss_gives_the_generator_no_gradient(source_checkpoint):
    model, _ = build(source_checkpoint)
    data = model.data_preprocessor(target_batch(), True)
    logits = model.logits(model.segmentor, data['inputs'])
    loss = model.loss_target(logits)
    grads = torch.autograd.grad(loss, list(model.generator.parameters()),
                                allow_unused=True)
    assert all(g is None for g in grads)


def test_segmentor_step_gives_discriminator_and_generator_no_gradient(source_checkpoint):
    model, optim = build(source_checkpoint)
    data = model.data_preprocessor(target_batch(), True)
    transfer = model._generator_step(data['inputs'], optim, {})
    model.generator.zero_grad(set_to_none=True)
    ipsm = model._segmentor_step(data['inputs'], transfer, optim, {})
    assert ipsm is not None
    patches, easy = ipsm
    assert easy.shape == (4, 16) and (easy.sum(0) == 2).all()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is None or not p.grad.any() for p in model.discriminator.parameters())


def test_ablation_switches(source_checkpoint):
    init_default_scope('mmseg')
    cfg = tiny_model_cfg(source_checkpoint)
    cfg.model.update(use_ipsm=False, discriminator=None)
    cfg.optim_wrapper.discriminator = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    log = model.train_step(target_batch(), optim)
    assert 'seg.loss_target' in log and 'seg.loss_adv' not in log
    assert not hasattr(model, 'discriminator')

    cfg.model.update(transfer_only=True)
    torch.manual_seed(123)
    model = MODELS.build(cfg.model)
    model.init_weights()
    src = torch.load(source_checkpoint)['state_dict']
    key = 'decode_head.conv_seg.weight'
    assert torch.equal(model.source_model.state_dict()[key], src[key])
    assert not torch.equal(model.segmentor.state_dict()[key], src[key])
    log = model.train_step(target_batch(), build_optim_wrapper(model, cfg.optim_wrapper))
    assert 'seg.loss_target' not in log and 'seg.loss_mae' in log


def test_odd_batch_is_a_clear_error(source_checkpoint):
    model, optim = build(source_checkpoint)
    with pytest.raises(ValueError, match='even'):
        model.train_step(target_batch(3), optim)


# ---------------------------------------------------------------- resume
def runner_cfg(source_checkpoint, data_root, work_dir, iters=4):
    cfg = tiny_model_cfg(source_checkpoint)
    cfg.work_dir = work_dir
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='CityscapesDataset', data_root=data_root,
                     data_prefix=dict(img_path='leftImg8bit/train'),
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackSegInputs')]))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=iters // 2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


def test_kill_and_resume_restores_every_part(tmp_path, source_checkpoint):
    root = tmp_path / 'cs'
    write_cityscapes_images(str(root), 4, H, W)
    Runner.from_cfg(runner_cfg(source_checkpoint, str(root),
                               str(tmp_path / 'full'))).train()
    cfg = runner_cfg(source_checkpoint, str(root), str(tmp_path / 'killed'))
    cfg.custom_hooks = [dict(type='InterruptHook', at=2)]
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    cfg = runner_cfg(source_checkpoint, str(root), str(tmp_path / 'killed'))
    cfg.resume = True
    Runner.from_cfg(cfg).train()

    full = load_checkpoint_file(str(tmp_path / 'full' / 'iter_4.pth'))
    resumed = load_checkpoint_file(str(tmp_path / 'killed' / 'iter_4.pth'))
    for prefix in ('segmentor.', 'generator.', 'discriminator.', 'source_model.'):
        keys = [k for k in full['state_dict'] if k.startswith(prefix)]
        assert keys, prefix
        for k in keys:
            torch.testing.assert_close(resumed['state_dict'][k], full['state_dict'][k],
                                       msg=k)
    assert set(full['optimizer']) == {'segmentor', 'generator', 'discriminator'}
    for name in full['optimizer']:
        for a, b in zip(full['optimizer'][name]['state'].values(),
                        resumed['optimizer'][name]['state'].values()):
            for key in a:
                torch.testing.assert_close(b[key], a[key], msg=f'{name}.{key}')


def test_gradient_accumulation_follows_mmengine(source_checkpoint):
    """accumulative_counts=2 on the segmentor: its weights move every second step only,
    while the generator (no accumulation) moves every step."""
    init_default_scope('mmseg')
    cfg = tiny_model_cfg(source_checkpoint)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    cfg.optim_wrapper.segmentor.accumulative_counts = 2
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    optim['segmentor'].initialize_count_status(model.segmentor, 0, 4)
    key = 'decode_head.conv_seg.weight'
    seg0, gen0 = state(model.segmentor)[key], state(model.generator)
    model.train_step(target_batch(), optim)
    seg1, gen1 = state(model.segmentor)[key], state(model.generator)
    model.train_step(target_batch(), optim)
    seg2 = state(model.segmentor)[key]
    assert torch.equal(seg0, seg1), 'segmentor stepped before accumulating 2 batches'
    assert not torch.equal(seg1, seg2)
    assert any(not torch.equal(gen0[k], gen1[k]) for k in gen0)


def build_with(source_checkpoint, **model_options):
    init_default_scope('mmseg')
    cfg = tiny_model_cfg(source_checkpoint)
    cfg.model.update(model_options)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


@pytest.mark.parametrize('target_statistics', [False, True])
def test_mae_is_zero_at_iteration_zero(source_checkpoint, target_statistics):
    """Like for like: the trained segmentor scores fakes with the frozen copy's source
    statistics, so at identical weights the MAE (Eq. 5) is 0, also when the segmentor's
    own running statistics are the target's (bn_stats init='target')."""
    model, optim = build_with(source_checkpoint)
    assert model.fake_bn == 'source'
    if target_statistics:
        for m in model.segmentor.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.add_(0.5)
                m.running_var.mul_(2.)
    own = state(model.segmentor)
    log = model.train_step(target_batch(), optim)
    assert log['gen.loss_mae'].item() == 0
    assert log['seg.loss_mae'].item() == 0
    # the borrowed statistics went back: only the target pass moved the running stats
    moved = state(model.segmentor)
    assert not torch.equal(own['backbone.stem.1.running_mean'],
                           moved['backbone.stem.1.running_mean'])


def test_mae_with_fake_batch_statistics_is_not_zero(source_checkpoint):
    """DFAD's reading (train-mode student, eval-mode teacher) differs at identical
    weights: what fake_bn='source' removes."""
    model, optim = build_with(source_checkpoint, fake_bn='batch')
    log = model.train_step(target_batch(), optim)
    assert -log['gen.loss_mae'].item() > 1e-3  # logged as in Eq. 11: -alpha L_MAE


def test_mae_averages_over_pixels_by_default(source_checkpoint):
    model, _ = build_with(source_checkpoint)
    assert model.loss_mae.reduction == 'dfad_mean'


def test_bad_fake_bn_is_a_clear_error(source_checkpoint):
    with pytest.raises(ValueError, match='fake_bn'):
        build_with(source_checkpoint, fake_bn='eval')


def test_train_step_keeps_parameters_a_config_froze_frozen(source_checkpoint):
    model, optim = build(source_checkpoint)
    frozen = [model.segmentor.decode_head.conv_seg.weight,
              model.discriminator.embedding.weight]
    for param in frozen:
        param.requires_grad_(False)
    model.train_step(target_batch(), optim)
    assert not any(param.requires_grad for param in frozen)
    assert model.segmentor.decode_head.conv_seg.bias.requires_grad
    assert model.discriminator.linear.weight.requires_grad
