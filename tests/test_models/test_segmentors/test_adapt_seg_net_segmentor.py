"""AdaptSegNetSegmentor (AdaptSegNet / AdvEnt / MinEnt): what each step updates, the
losses it adds up, both discriminator inputs, single / multi-level, kill-and-resume."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData

import mmseg_sfda  # noqa: F401
import mmseg_sfda.models.segmentors.adapt_seg_net_segmentor  # noqa: F401 (registers)
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.models.utils import self_information_map

from tiny_models import tiny_segmentor_cfg  # noqa: E402
from runner_utils import Interrupted, short_pair_run  # + InterruptHook

H, W = 32, 64
NUM_CLASSES = 4
TOY_CFG = 'configs/toy/adaptsegnet_deeplabv3_r18_toy-gta2cs.py'
BN = dict(type='BN', requires_grad=True)


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def segmentor_cfg(multi_level: bool = True) -> ConfigDict:
    """The tiny ResNet-18 segmentor; multi-level: an FCN auxiliary head on stage 3
    (16 channels) with loss weight 0.1, as DeepLab-V2's res4 classifier."""
    seg = tiny_segmentor_cfg((H, W), NUM_CLASSES)
    seg.decode_head.dropout_ratio = 0.  # no RNG in the step: resume is exact
    if multi_level:
        seg.backbone.out_indices = (2, 3)
        seg.decode_head.in_index = 1
        seg.auxiliary_head = dict(
            type='FCNHead', in_channels=16, in_index=0, channels=8, num_convs=1,
            concat_input=False, num_classes=NUM_CLASSES, dropout_ratio=0., norm_cfg=BN,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.1))
    return seg


def model_cfg(multi_level: bool = True, **kwargs) -> ConfigDict:
    disc = dict(type='FCDiscriminator', num_classes=NUM_CLASSES, ndf=8)
    cfg = ConfigDict(
        type='AdaptSegNetSegmentor', segmentor=segmentor_cfg(multi_level),
        discriminator=disc, discriminator_aux=disc if multi_level else None,
        lambda_adv_main=0.5, lambda_adv_aux=0.25)  # large enough to see their effect
    cfg.update(kwargs)
    return cfg


def optim_cfg(names=('segmentor', 'discriminator', 'discriminator_aux')) -> dict:
    cfg = dict(constructor='MultiModuleOptimWrapperConstructor')
    for name in names:
        cfg[name] = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)) \
            if name == 'segmentor' else dict(
                type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99)))
    return cfg


def build(multi_level: bool = True, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg(multi_level, **kwargs))
    model.init_weights()
    names = ['segmentor'] + [n for n, _ in model.discriminators()]
    return model, build_optim_wrapper(model, optim_cfg(names))


def domain(n: int, labelled: bool, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        if labelled:
            label = torch.randint(0, NUM_CLASSES, (1, H, W), generator=gen)
            label[:, :4] = 255  # some ignored pixels
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def pair_batch(n: int = 2) -> dict:
    return dict(source=domain(n, True, 1), target=domain(n, False, 2))


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return [k for k, v in before.items()
            if v.dtype.is_floating_point and not torch.equal(v, after[k])]


def parts(model):
    return ['segmentor'] + [name for name, _ in model.discriminators()]


# --------------------------------------------------------------- the full step
@pytest.mark.parametrize('input_mode', ['softmax', 'entropy'])
@pytest.mark.parametrize('multi_level', [False, True])
def test_train_step_trains_every_part_and_adds_up_its_losses(input_mode, multi_level):
    model, optim = build(multi_level, input_mode=input_mode)
    assert model.with_discriminator_aux is multi_level
    before = {name: state(getattr(model, name)) for name in parts(model)}
    log = model.train_step(pair_batch(), optim)
    levels = ['main', 'aux'] if multi_level else ['main']
    expected = {'seg.loss', 'src.decode.loss_ce'}
    expected |= {f'seg.loss_adv_{lv}' for lv in levels}
    expected |= {f'disc.loss_{lv}' for lv in levels} | {f'disc.acc_{lv}' for lv in levels}
    assert expected <= set(log)
    assert ('seg.loss_adv_aux' in log) is multi_level
    assert ('src.aux.loss_ce' in log) is multi_level  # multi-level source seg loss
    assert all(torch.isfinite(v) and not v.requires_grad for v in log.values())
    # every logged term is weighted: seg.loss is their sum (mmengine's parse_losses)
    terms = [k for k in log if 'loss' in k and k.split('.')[0] in ('seg', 'src')
             and k != 'seg.loss']
    assert len(terms) == (4 if multi_level else 2), terms
    torch.testing.assert_close(log['seg.loss'], sum(log[k] for k in terms))
    for name, old in before.items():
        assert changed(old, getattr(model, name)), f'{name} did not train'
    assert all(p.requires_grad for name in parts(model)
               for p in getattr(model, name).parameters())


def test_source_loss_is_the_segmentors_own_loss():
    """The main head's and the auxiliary head's (x 0.1) cross-entropy, as mmseg's
    EncoderDecoder.loss computes them on the source batch."""
    model, optim = build(True)
    reference = copy.deepcopy(model.segmentor)
    data = model.data_preprocessor(pair_batch(), True)['source']
    expected, _ = model.parse_losses(reference.loss(data['inputs'], data['data_samples']))
    log = model.train_step(pair_batch(), optim)
    torch.testing.assert_close(log['src.decode.loss_ce'] + log['src.aux.loss_ce'],
                               expected.detach())


# ------------------------------------------------------------ gradient isolation
@pytest.mark.parametrize('input_mode', ['softmax', 'entropy'])
def test_segmentor_step_gives_the_discriminators_no_gradient(input_mode):
    model, optim = build(True, input_mode=input_mode)
    discs = {name: state(getattr(model, name)) for name in ('discriminator',
                                                            'discriminator_aux')}
    seg = state(model.segmentor)
    data = model.data_preprocessor(pair_batch(), True)
    d_inputs = model.train_segmentor(data, optim, {})
    assert changed(seg, model.segmentor)
    for name, old in discs.items():
        module = getattr(model, name)
        assert not changed(old, module), f'{name} moved in the segmentor step'
        assert all(p.grad is None or not p.grad.any() for p in module.parameters()), name
        assert all(p.requires_grad for p in module.parameters()), name
    assert set(d_inputs) == {'src_main', 'tgt_main', 'src_aux', 'tgt_aux'}
    for key, x in d_inputs.items():
        assert tuple(x.shape) == (2, NUM_CLASSES, H, W) and not x.requires_grad, key
        if input_mode == 'softmax':
            torch.testing.assert_close(x.sum(1), torch.ones(2, H, W))
        else:  # normalised self-information: summed over classes, entropy in [0, 1]
            assert ((x >= 0) & (x.sum(1, keepdim=True) <= 1 + 1e-5)).all()


def test_discriminator_step_leaves_the_segmentor_untouched():
    model, optim = build(True)
    data = model.data_preprocessor(pair_batch(), True)
    d_inputs = model.train_segmentor(data, optim, {})
    seg = state(model.segmentor)  # weights and BN running statistics
    model.segmentor.zero_grad(set_to_none=True)
    discs = {name: state(getattr(model, name)) for name in ('discriminator',
                                                            'discriminator_aux')}
    log = {}
    model.train_discriminators(d_inputs, data, optim, log)
    assert all(torch.equal(v, seg[k]) for k, v in model.segmentor.state_dict().items())
    assert all(p.grad is None for p in model.segmentor.parameters())
    for name, old in discs.items():
        assert changed(old, getattr(model, name)), name
    assert {'disc.loss_main', 'disc.loss_aux', 'disc.acc_main', 'disc.acc_aux'} <= set(log)


def test_discriminator_learns_source_0_target_1():
    """The discriminator step lowers BCE(D(source), 0) + BCE(D(target), 1) on a fixed
    pair of inputs."""
    model, optim = build(False)
    data = model.data_preprocessor(pair_batch(), True)
    d_inputs = model.train_segmentor(data, optim, {})
    losses = []
    for _ in range(5):
        log = {}
        model.train_discriminators(d_inputs, data, optim, log)
        losses.append(float(log['disc.loss_main']))
    assert losses[-1] < losses[0]


@pytest.mark.parametrize('level', ['main', 'aux'])
def test_adversarial_gradient_reaches_the_segmentor(level):
    """With the other lambda at 0, lambda_adv_<level> > 0 moves the segmentor away from
    where the source loss alone takes it; the auxiliary term reaches the auxiliary head
    (its target logits come from the hooked target pass)."""
    lambdas = dict(lambda_adv_main=0., lambda_adv_aux=0.)
    results = []
    for weight in (0., 1.):
        model, optim = build(True, **dict(lambdas, **{f'lambda_adv_{level}': weight}))
        data = model.data_preprocessor(pair_batch(), True)
        model.train_segmentor(data, optim, {})
        results.append(state(model.segmentor))
    head = 'decode_head' if level == 'main' else 'auxiliary_head'
    differs = [k for k in results[0] if not torch.equal(results[0][k], results[1][k])]
    assert any(k.startswith(head) for k in differs), differs
    assert any(k.startswith('backbone') for k in differs)
    if level == 'main':  # the main adversarial loss does not reach the auxiliary head
        assert not any(k.startswith('auxiliary_head') for k in differs)


def test_input_modes():
    model, _ = build(False, input_mode='entropy')
    logits = torch.randn(2, NUM_CLASSES, 8, 8)
    torch.testing.assert_close(model.discriminator_input(logits),
                               self_information_map(logits))
    model.input_mode = 'softmax'
    torch.testing.assert_close(model.discriminator_input(logits), logits.softmax(1))


# ---------------------------------------------------------------- MinEnt, errors
def test_minent_has_no_discriminator():
    model, optim = build(True, use_adversarial=False,
                         loss_target=dict(type='EntropyLoss'), lambda_target_main=0.5,
                         loss_target_aux=dict(type='EntropyLoss'), lambda_target_aux=0.25)
    assert not hasattr(model, 'discriminator') and not hasattr(model, 'discriminator_aux')
    assert set(optim.keys()) == {'segmentor'}
    seg = state(model.segmentor)
    log = model.train_step(pair_batch(), optim)
    assert not any(k.startswith('disc.') or 'adv' in k for k in log)
    torch.testing.assert_close(
        log['seg.loss'], log['src.decode.loss_ce'] + log['src.aux.loss_ce'] +
        log['seg.loss_target'] + log['seg.loss_target_aux'])
    assert 0 < float(log['seg.loss_target']) <= 0.5  # normalised entropy x 0.5
    assert changed(seg, model.segmentor)


def test_target_loss_with_adversarial_training():
    """AdvEnt + MinEnt: both terms in one segmentor loss."""
    model, optim = build(False, input_mode='entropy',
                         loss_target=dict(type='EntropyLoss'), lambda_target_main=0.5)
    log = model.train_step(pair_batch(), optim)
    torch.testing.assert_close(
        log['seg.loss'],
        log['src.decode.loss_ce'] + log['seg.loss_adv_main'] + log['seg.loss_target'])


def test_clear_errors():
    with pytest.raises(ValueError, match='no auxiliary_head'):
        MODELS.build(model_cfg(False, discriminator_aux=dict(
            type='FCDiscriminator', num_classes=NUM_CLASSES)))
    with pytest.raises(ValueError, match='no auxiliary_head'):
        MODELS.build(model_cfg(False, loss_target_aux=dict(type='EntropyLoss')))
    with pytest.raises(ValueError, match='input_mode'):
        MODELS.build(model_cfg(True, input_mode='logits'))
    with pytest.raises(ValueError, match='num_classes=4'):
        MODELS.build(model_cfg(False, discriminator=dict(type='FCDiscriminator',
                                                         num_classes=19)))
    with pytest.raises(ValueError, match='needs a discriminator'):
        MODELS.build(model_cfg(False, discriminator=None))
    model, optim = build(False)
    with pytest.raises(ValueError, match='DomainPairDataset'):
        model.train_step(domain(2, False, 0), optim)


def test_head_forward_is_restored():
    model, optim = build(True)
    model.train_step(pair_batch(), optim)
    for head in (model.segmentor.decode_head, model.segmentor.auxiliary_head):
        assert 'forward' not in head.__dict__


def test_inference_is_the_segmentors():
    model, _ = build(True)
    model.eval()
    x = torch.randn(1, 3, H, W)
    with torch.no_grad():
        torch.testing.assert_close(model(x, None, mode='tensor'),
                                   model.segmentor(x, None, mode='tensor'))


def test_toy_config_starts_from_the_source_checkpoint(tmp_path):
    """The toy config's own model (DeepLabV3-R18, 19 classes) from a source checkpoint."""
    cfg = Config.fromfile(TOY_CFG)
    torch.manual_seed(0)
    source = MODELS.build(cfg.model.segmentor)
    path = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    cfg.model.source_checkpoint = path
    model = MODELS.build(cfg.model)
    model.init_weights()
    key = 'decode_head.conv_seg.weight'
    assert torch.equal(model.segmentor.state_dict()[key], source.state_dict()[key])
    assert model.input_mode == 'softmax' and not model.with_discriminator_aux


# ------------------------------------------------------------------- resume
def make_pair_data(root) -> tuple:
    """A GTA5-layout source (4-class labels) and an unlabelled Cityscapes-layout target."""
    rng = np.random.default_rng(0)
    gta, city = root / 'gta5', root / 'cs'
    (gta / 'images').mkdir(parents=True)
    (gta / 'labels').mkdir()
    for i in range(4):
        cv2.imwrite(str(gta / 'images' / f'{i:05d}.png'),
                    rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        cv2.imwrite(str(gta / 'labels' / f'{i:05d}_labelTrainIds.png'),
                    rng.integers(0, NUM_CLASSES, (H, W), dtype=np.uint8))
    img_dir = city / 'leftImg8bit' / 'train' / 'c'
    img_dir.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(img_dir / f'c_000000_{i:06d}_leftImg8bit.png'),
                    rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    return str(gta), str(city)


def runner_cfg(data_roots, work_dir, iters=4, multi_level=True) -> Config:
    """The toy AdaptSegNet config with the tiny segmentor and the given data."""
    cfg = Config.fromfile(TOY_CFG)
    cfg.model = model_cfg(multi_level)
    cfg.model.source_checkpoint = None
    cfg.optim_wrapper.discriminator_aux = copy.deepcopy(cfg.optim_wrapper.discriminator)
    cfg.param_scheduler.discriminator_aux = copy.deepcopy(cfg.param_scheduler.discriminator)
    return short_pair_run(cfg, data_roots, work_dir, iters)


def test_kill_and_resume_restores_every_part(tmp_path):
    roots = make_pair_data(tmp_path)
    Runner.from_cfg(runner_cfg(roots, str(tmp_path / 'full'))).train()
    cfg = runner_cfg(roots, str(tmp_path / 'killed'))
    cfg.custom_hooks = [dict(type='InterruptHook', at=2)]
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    cfg = runner_cfg(roots, str(tmp_path / 'killed'))
    cfg.resume = True
    Runner.from_cfg(cfg).train()

    full = torch.load(tmp_path / 'full' / 'iter_4.pth', weights_only=False)
    resumed = torch.load(tmp_path / 'killed' / 'iter_4.pth', weights_only=False)
    halfway = torch.load(tmp_path / 'full' / 'iter_2.pth', weights_only=False)
    for prefix in ('segmentor.', 'discriminator.', 'discriminator_aux.'):
        keys = [k for k in full['state_dict'] if k.startswith(prefix)]
        assert keys, prefix
        # the second half trained this part (so restoring it is tested) ...
        assert any(not torch.equal(full['state_dict'][k], halfway['state_dict'][k])
                   for k in keys if full['state_dict'][k].dtype.is_floating_point), prefix
        for k in keys:  # ... and the resumed run ends where the uninterrupted one does
            torch.testing.assert_close(resumed['state_dict'][k], full['state_dict'][k],
                                       msg=k)
    assert set(full['optimizer']) == {'segmentor', 'discriminator', 'discriminator_aux'}
    for name in full['optimizer']:
        assert full['optimizer'][name]['state'], name
        for a, b in zip(full['optimizer'][name]['state'].values(),
                        resumed['optimizer'][name]['state'].values()):
            for key in a:
                torch.testing.assert_close(b[key], a[key], msg=f'{name}.{key}')
        lrs = [g['lr'] for g in full['optimizer'][name]['param_groups']]
        assert lrs == [g['lr'] for g in resumed['optimizer'][name]['param_groups']]
    assert set(full['param_schedulers']) == set(resumed['param_schedulers'])


# ------------------------------------------------------------ BN statistics policy
def _first_bn_batch_stats(model):
    """The stem BN layer and a list that receives (mean, unbiased var) of each of its
    train-mode inputs."""
    bn = model.segmentor.backbone.stem[1]
    seen = []

    def hook(_m, args):
        x = args[0].detach()
        seen.append((x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=True)))
    return bn, seen, bn.register_forward_pre_hook(hook)


@pytest.mark.parametrize('track', ['all', 'target'])
def test_running_statistics_end_on_the_target_batch(track):
    """The target pass runs first (DDP), but its BN update is applied last, as in
    AdaptSegNet's code (source, then target); track='target' keeps the source batch out."""
    model, optim = build(False, bn_stats=dict(track=track))
    bn, seen, handle = _first_bn_batch_stats(model)
    r0 = bn.running_mean.clone()
    m = bn.momentum
    model.train_step(pair_batch(), optim)
    handle.remove()
    assert len(seen) == 2  # target pass, then source pass
    (mean_t, _), (mean_s, _) = seen
    if track == 'all':
        expected = (1 - m) * ((1 - m) * r0 + m * mean_s) + m * mean_t
    else:
        expected = (1 - m) * r0 + m * mean_t
    torch.testing.assert_close(bn.running_mean, expected)
    wrong = (1 - m) * ((1 - m) * r0 + m * mean_t) + m * mean_s  # the old order
    assert not torch.allclose(bn.running_mean, wrong)


def test_train_step_keeps_parameters_a_config_froze_frozen():
    model, optim = build(True)
    frozen = model.discriminator.layers[0].weight
    frozen.requires_grad_(False)
    model.train_step(pair_batch(), optim)
    assert not frozen.requires_grad
    assert model.discriminator.layers[0].bias.requires_grad


def test_target_init_without_the_hook_is_a_clear_error():
    model, optim = build(False, bn_stats=dict(init='target'))
    with pytest.raises(RuntimeError, match='BNStatsHook'):
        model.train_step(pair_batch(), optim)


def test_adversarial_term_makes_target_outputs_look_source_to_the_discriminator():
    """The mechanism, against the lambda 0 control (same seed, same batch, the same fixed
    discriminator): segmentor steps with the adversarial term lower D's probability of
    'target' (label 1) on the target outputs; without it they do not."""
    def p_target(model, data) -> float:
        with torch.no_grad():
            logits, _ = model._target_logits(data['target']['inputs'])
            return float(model.discriminator(model.discriminator_input(logits)).sigmoid()
                         .mean())

    results = {}
    for weight in (0., 1.):
        model, optim = build(False, lambda_adv_main=weight)
        data = model.data_preprocessor(pair_batch(), True)
        d_inputs = model.train_segmentor(data, optim, {})
        for _ in range(20):  # a discriminator that tells the domains apart, then fixed
            model.train_discriminators(d_inputs, data, optim, {})
        before = p_target(model, data)
        for _ in range(5):
            model.train_segmentor(data, optim, {})
        results[weight] = p_target(model, data) - before
    # deterministic: the control's drift is float-level, the term's a clear descent
    assert results[1.] < 0 and abs(results[0.]) < 0.05 * abs(results[1.]), results
