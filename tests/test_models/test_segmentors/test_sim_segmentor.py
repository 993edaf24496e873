"""SIMSegmentor (stuff and instance matching): the banks take correctly classified source
samples only, the segmentor step leaves the discriminator alone, the matching losses
reach the segmentor, step 2 trains and matches on pseudo labels, kill-and-resume."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmengine.structures import PixelData

import mmseg_sfda  # noqa: F401
import mmseg_sfda.models.segmentors.sim_segmentor  # noqa: F401 (registers)
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from runner_utils import (Interrupted, short_pair_run, write_cityscapes_images,
                          write_random_images)
from tiny_models import tiny_segmentor_cfg  # noqa: E402

H, W = 32, 64
NUM_CLASSES = 4
STUFF, THINGS = [0, 1], [2, 3]
DIM = 32  # channels of the tiny backbone's last stage
TOY_CFGS = ('configs/toy/sim-step1_deeplabv3_r18_toy-gta2cs.py',
            'configs/toy/sim-step2_deeplabv3_r18_toy-gta2cs.py')


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def model_cfg(**kwargs) -> ConfigDict:
    seg = tiny_segmentor_cfg((H, W), NUM_CLASSES)
    seg.decode_head.dropout_ratio = 0.  # no RNG in the step: resume is exact
    cfg = ConfigDict(
        type='SIMSegmentor', segmentor=seg,
        discriminator=dict(type='FCDiscriminator', num_classes=NUM_CLASSES, ndf=8),
        stuff_classes=STUFF,
        stuff_bank=dict(type='FeatureMemoryBank', size=2),
        instance_bank=dict(type='FeatureMemoryBank', size=4),
        lambda_adv_main=0.5, lambda_ci=2.0)  # large enough to see their effect
    cfg.update(kwargs)
    return cfg


def optim_cfg() -> dict:
    return dict(
        constructor='MultiModuleOptimWrapperConstructor',
        segmentor=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)),
        discriminator=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99))))


def build(seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model, build_optim_wrapper(model, optim_cfg())


def domain(n: int, labelled: bool, seed: int, label_value=None) -> dict:
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        if labelled:
            label = torch.randint(0, NUM_CLASSES, (1, H, W), generator=gen)
            label[:, :4] = 255  # some ignored pixels
            if label_value is not None:
                label[:] = label_value
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def pair_batch(n: int = 2, pseudo: bool = False, pseudo_value=None) -> dict:
    return dict(source=domain(n, True, 1), target=domain(n, pseudo, 2, pseudo_value))


def fill_banks(model, seed: int = 5) -> None:
    """Full banks (size + 1 writes, SIM's ptr > w) of random features (every class
    matchable)."""
    gen = torch.Generator().manual_seed(seed)
    for bank in (model.stuff_bank, model.instance_bank):
        ids = torch.tensor(bank.class_ids).repeat_interleave(bank.size + 1)
        bank.update_many(ids, torch.rand(len(ids), bank.dim, generator=gen))


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return [k for k, v in before.items()
            if v.dtype.is_floating_point and not torch.equal(v, after[k])]


# --------------------------------------------------------------- the full step
@pytest.mark.parametrize('step', [1, 2])
def test_train_step_adds_up_eq12_and_eq13(step):
    model, optim = build(step=step, target_weight=0.5)
    fill_banks(model)
    before = {name: state(getattr(model, name)) for name in ('segmentor', 'discriminator')}
    log = model.train_step(pair_batch(pseudo=step == 2), optim)
    expected = {'seg.loss', 'src.decode.loss_ce', 'seg.loss_adv_main',
                'seg.loss_stuff', 'seg.loss_instance', 'disc.loss_main',
                'sim.stuff_bank_filled', 'sim.instance_bank_filled'}
    assert expected <= set(log)
    assert ('tgt.decode.loss_ce' in log) is (step == 2)
    assert all(torch.isfinite(v) and not v.requires_grad for v in log.values())
    assert float(log['seg.loss_stuff']) > 0 and float(log['seg.loss_instance']) > 0
    # every logged term is weighted (lambda_adv_main, lambda_ci, target_weight):
    # seg.loss is their sum (mmengine's parse_losses)
    terms = ['src.decode.loss_ce', 'seg.loss_adv_main', 'seg.loss_stuff',
             'seg.loss_instance'] + (['tgt.decode.loss_ce'] if step == 2 else [])
    assert {k for k in log if 'loss' in k and not k.startswith('disc.')} == \
        set(terms) | {'seg.loss'}
    torch.testing.assert_close(log['seg.loss'], sum(log[k] for k in terms))
    for name, old in before.items():
        assert changed(old, getattr(model, name)), f'{name} did not train'
    assert float(log['sim.stuff_bank_filled']) == 1.0


def test_nothing_is_matched_before_the_banks_fill():
    """Empty banks (and, with require_full, unfilled ones) give zero matching losses."""
    model, optim = build(stuff_bank=dict(type='FeatureMemoryBank', size=50),
                         instance_bank=dict(type='FeatureMemoryBank', size=500))
    log = model.train_step(pair_batch(), optim)
    assert float(log['seg.loss_stuff']) == 0 and float(log['seg.loss_instance']) == 0
    assert 0 < float(log['sim.stuff_bank_filled']) < 1


# --------------------------------------------------------------- memory banks
def crafted_source(model):
    """One 4x8 'image' at feature resolution, with DIM-channel features:

    - stuff class 0 in columns 0-3: predicted right in columns 0-1 (feature 1), wrong
      (class 1) in columns 2-3 (feature 100);
    - thing class 2: region A rows 0-1, columns 5-7, predicted right except (0, 7)
      (feature 3 where right, 50 at the wrong pixel); region B row 3, columns 5-6,
      predicted wrong (class 3, feature 70);
    - the rest ignored (255), predicted class 1 (feature 0).
    """
    label = torch.full((1, 4, 8), 255, dtype=torch.long)
    pred = torch.full((1, 4, 8), 1, dtype=torch.long)
    feat = torch.zeros(1, DIM, 4, 8)
    label[0, :, 0:4] = 0
    pred[0, :, 0:2] = 0
    feat[0, :, :, 0:2] = 1.
    feat[0, :, :, 2:4] = 100.
    label[0, 0:2, 5:8] = 2
    pred[0, 0:2, 5:8] = 2
    feat[0, :, 0:2, 5:8] = 3.
    pred[0, 0, 7] = 3
    feat[0, :, 0, 7] = 50.
    label[0, 3, 5:7] = 2
    pred[0, 3, 5:7] = 3
    feat[0, :, 3, 5:7] = 70.
    logits = torch.nn.functional.one_hot(pred, NUM_CLASSES).permute(0, 3, 1, 2).float()
    return feat, label, logits


def test_banks_store_only_correctly_classified_source_samples():
    model, _ = build(classifier_check=dict(source=False))
    feat, label, logits = crafted_source(model)
    model.update_banks(feat, label, logits)
    stuff, things = model.stuff_bank, model.instance_bank
    assert stuff.num_stored(0) == 1 and stuff.num_stored(1) == 0  # 1 is never right
    torch.testing.assert_close(stuff.stored(0), torch.ones(1, DIM))
    assert things.num_stored(2) == 1 and things.num_stored(3) == 0  # B is all wrong
    torch.testing.assert_close(things.stored(2), torch.full((1, DIM), 3.))


def test_banks_store_only_what_the_classifier_re_predicts(monkeypatch):
    """SIM's code: a pooled source feature is stored only if the classifier applied to
    it predicts its class."""
    model, _ = build()
    feat, label, logits = crafted_source(model)
    seen = []

    def classifier():
        def classify(x):  # re-predicts class 2, never class 0
            seen.append(x.clone())
            out = torch.zeros(x.shape[0], NUM_CLASSES, 1, 1)
            out[:, 2] = 1.
            return out
        return classify

    monkeypatch.setattr(model, '_classifier', classifier)
    model.update_banks(feat, label, logits)
    assert model.stuff_bank.num_stored(0) == 0
    assert model.instance_bank.num_stored(2) == 1
    pooled = torch.cat(seen)[:, :, 0, 0]  # the class-0 mean and region A's mean
    torch.testing.assert_close(pooled, torch.tensor([[1.], [3.]]).expand(2, DIM))


def test_default_classifier_is_the_decode_head_in_eval_mode():
    model, _ = build()
    model.train()
    x = torch.randn(3, DIM, 1, 1)
    out = model._classifier()(x)
    head = model.segmentor.decode_head
    assert head.training  # restored
    head.eval()
    torch.testing.assert_close(out, head([x]))


def test_train_step_feeds_the_banks_from_the_source_pass(monkeypatch):
    """The bank update gets the source features of the training forward, the source
    ground truth and the source logits (not the target's)."""
    model, optim = build()
    reference = copy.deepcopy(model.segmentor)
    data = model.data_preprocessor(pair_batch(), True)
    with torch.no_grad():
        feat = reference.extract_feat(data['source']['inputs'])[-1]
        logits = reference.decode_head(reference.extract_feat(data['source']['inputs']))
    calls = []
    monkeypatch.setattr(model, 'update_banks', lambda *args: calls.append(args))
    model.train_segmentor(data, optim, {})
    (got_feat, got_label, got_logits), = calls
    torch.testing.assert_close(got_feat, feat)
    torch.testing.assert_close(got_logits, logits)
    gt = torch.stack([s.gt_sem_seg.data[0] for s in data['source']['data_samples']])
    assert torch.equal(got_label, gt)


# ------------------------------------------------------------ gradient isolation
def test_segmentor_step_gives_the_discriminator_no_gradient():
    model, optim = build()
    fill_banks(model)
    disc = state(model.discriminator)
    seg = state(model.segmentor)
    data = model.data_preprocessor(pair_batch(), True)
    log = {}
    d_inputs = model.train_segmentor(data, optim, log)
    assert float(log['seg.loss_stuff']) > 0
    assert changed(seg, model.segmentor)
    assert not changed(disc, model.discriminator)
    assert all(p.grad is None or not p.grad.any() for p in model.discriminator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())
    assert set(d_inputs) == {'src_main', 'tgt_main'}
    assert all(not x.requires_grad for x in d_inputs.values())
    for bank in (model.stuff_bank, model.instance_bank):
        assert not list(bank.parameters())
        assert not any(b.requires_grad for b in bank.buffers())


def test_discriminator_step_leaves_segmentor_and_banks_untouched():
    model, optim = build()
    data = model.data_preprocessor(pair_batch(), True)
    d_inputs = model.train_segmentor(data, optim, {})
    seg, banks = state(model.segmentor), (state(model.stuff_bank),
                                          state(model.instance_bank))
    model.segmentor.zero_grad(set_to_none=True)
    disc = state(model.discriminator)
    model.train_discriminators(d_inputs, data, optim, {})
    assert all(torch.equal(v, seg[k]) for k, v in model.segmentor.state_dict().items())
    assert all(p.grad is None for p in model.segmentor.parameters())
    for old, bank in zip(banks, (model.stuff_bank, model.instance_bank)):
        assert all(torch.equal(v, old[k]) for k, v in bank.state_dict().items())
    assert changed(disc, model.discriminator)


# --------------------------------------------------- the matching losses' reach
@pytest.mark.parametrize('feature_source', ['backbone', 'head'])
def test_matching_losses_reach_the_segmentor(feature_source):
    """With lambda_adv_main = 0 and full banks, lambda_ci > 0 moves the segmentor away from
    where the source loss alone takes it; only through the matched features (the
    classifier checks carry no gradient)."""
    results = []
    for lambda_ci in (0., 10.):
        model, optim = build(lambda_adv_main=0., lambda_ci=lambda_ci,
                             feature_source=feature_source)
        fill_banks(model)
        data = model.data_preprocessor(pair_batch(), True)
        log = {}
        model.train_segmentor(data, optim, log)
        # logged weighted: 0 for the control, positive with the full banks
        assert (float(log['seg.loss_stuff'] + log['seg.loss_instance']) > 0) is \
            (lambda_ci > 0)
        results.append(state(model.segmentor))
    differs = [k for k in results[0] if not torch.equal(results[0][k], results[1][k])]
    assert any(k.startswith('backbone') for k in differs), differs
    # the classifier (conv_seg) only sees the matched features through the source and
    # target seg/adversarial terms, which are identical in both runs
    assert not any(k.startswith('decode_head.conv_seg') for k in differs), differs
    if feature_source == 'head':  # the head's convs produce the matched features
        assert any(k.startswith('decode_head.convs') for k in differs), differs
    else:
        assert not any(k.startswith('decode_head') and 'running' not in k
                       for k in differs), differs


def test_matching_losses_pull_target_features_to_the_bank():
    """L_stf of a target map equals the L1 (/ dim) to the nearest stored stuff mean."""
    model, _ = build(classifier_check=dict(target_stuff=False))
    feat = torch.zeros(1, DIM, 4, 8, requires_grad=True)
    label = torch.zeros(1, 4, 8, dtype=torch.long)  # all stuff class 0
    stored = torch.stack([torch.full((DIM,), 9.), torch.full((DIM,), 0.5),
                          torch.full((DIM,), 2.)])  # 3 > size writes: full; 9 drops out
    model.stuff_bank.update_many(torch.tensor([0, 0, 0]), stored)
    loss_stuff, loss_instance = model.matching_losses(feat, label)
    torch.testing.assert_close(loss_stuff, torch.tensor(0.5))
    assert float(loss_instance.detach()) == 0
    loss_stuff.backward()
    assert feat.grad is not None and feat.grad.abs().sum() > 0


# ----------------------------------------------------------------------- step 2
def test_step2_trains_on_the_pseudo_labels():
    """Eq. 10: the target term is the decode head's loss on the pseudo labels: ignored
    everywhere it is 0, and other pseudo labels give another update."""
    logs, states = [], []
    for value in (None, 255, 1):
        model, optim = build(step=2, lambda_ci=0.)
        logs.append(model.train_step(pair_batch(pseudo=True, pseudo_value=value), optim))
        states.append(state(model.segmentor))
    assert float(logs[0]['tgt.decode.loss_ce']) > 0
    assert float(logs[1]['tgt.decode.loss_ce']) == 0
    assert float(logs[2]['tgt.decode.loss_ce']) != float(logs[0]['tgt.decode.loss_ce'])
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_step2_without_pseudo_labels_is_a_clear_error():
    model, optim = build(step=2)
    with pytest.raises(ValueError, match='LoadPseudoLabel'):
        model.train_step(pair_batch(pseudo=False), optim)


@pytest.mark.parametrize('mode', ['augmented', 'prediction', 'pseudo'])
def test_step2_matching_labels_eq11(mode):
    model, _ = build(step=2, matching_labels=mode)
    logits = torch.zeros(1, NUM_CLASSES, 2, 4)
    logits[:, 1] = 1.  # predicts class 1 everywhere
    sample = SegDataSample()
    pseudo = torch.full((1, 4, 8), 255, dtype=torch.long)
    pseudo[:, :, :4] = 3  # the left half pseudo-labelled 3
    sample.gt_sem_seg = PixelData(data=pseudo)
    got = model.matching_label_map(logits, [sample])
    expected = {'augmented': [[3, 3, 1, 1]] * 2, 'prediction': [[1, 1, 1, 1]] * 2,
                'pseudo': [[3, 3, 255, 255]] * 2}[mode]
    assert got.tolist() == [expected]
    model.step = 1  # step 1 always matches the prediction
    assert model.matching_label_map(logits, [sample]).tolist() == [[[1] * 4] * 2]


def test_reinitialize_keeps_the_segmentor_init_and_freezes_the_step1_model(tmp_path):
    torch.manual_seed(1)
    step1 = MODELS.build(model_cfg().segmentor)
    path = str(tmp_path / 'step1.pth')
    torch.save(dict(state_dict={f'segmentor.{k}': v for k, v in
                                step1.state_dict().items()}), path)
    key = 'decode_head.conv_seg.weight'
    model, _ = build(step=2, reinitialize=True, source_checkpoint=path)
    assert torch.equal(model.source_model.state_dict()[key], step1.state_dict()[key])
    assert not torch.equal(model.segmentor.state_dict()[key], step1.state_dict()[key])
    assert not any(p.requires_grad for p in model.source_model.parameters())
    model, _ = build(step=2, reinitialize=False, source_checkpoint=path)
    assert torch.equal(model.segmentor.state_dict()[key], step1.state_dict()[key])
    assert not hasattr(model, 'source_model')


def test_clear_errors():
    with pytest.raises(ValueError, match='step must be 1 or 2'):
        MODELS.build(model_cfg(step=3))
    with pytest.raises(ValueError, match='both stuff and things'):
        MODELS.build(model_cfg(thing_classes=[1, 2, 3]))
    with pytest.raises(ValueError, match='source_checkpoint'):
        MODELS.build(model_cfg(reinitialize=True))
    with pytest.raises(ValueError, match='matching_labels'):
        MODELS.build(model_cfg(matching_labels='both'))
    with pytest.raises(ValueError, match='classifier_check keys'):
        MODELS.build(model_cfg(classifier_check=dict(target=True)))
    deeplabv2 = model_cfg()
    deeplabv2.segmentor.decode_head = dict(
        type='DeepLabV2Head', in_channels=DIM, in_index=0, dilations=(1, 2),
        num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match="feature_source='backbone'"):
        MODELS.build(dict(deeplabv2, feature_source='head'))
    MODELS.build(deeplabv2)  # the backbone feature is DeepLabV2Head's input
    with pytest.raises(ValueError, match='dim'):
        MODELS.build(model_cfg(feature_index=-2, stuff_bank=dict(type='FeatureMemoryBank')))


def test_feature_index_off_the_head_input_needs_no_classifier_check():
    seg = model_cfg().segmentor
    seg.backbone.out_indices = (2, 3)
    seg.decode_head.in_index = 1
    bank = dict(type='FeatureMemoryBank', dim=16, size=2)
    with pytest.raises(ValueError, match=r"feature_index=0 is not the decode head's input "
                       r'\(in_index=1 of 2 levels\).*Fix: .*classifier_check'):
        build(segmentor=seg, feature_index=0, stuff_bank=bank, instance_bank=bank)
    model, optim = build(segmentor=seg, feature_index=0, stuff_bank=bank,
                         instance_bank=bank, classifier_check=dict(
                             source=False, target_stuff=False, target_things=False))
    log = model.train_step(pair_batch(), optim)
    assert float(log['sim.stuff_bank_filled']) > 0


@pytest.mark.parametrize('path', TOY_CFGS)
def test_toy_configs(path, tmp_path):
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    source = MODELS.build(cfg.model.segmentor)
    ckpt = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=source.state_dict()), ckpt)
    cfg.model.source_checkpoint = ckpt
    model = MODELS.build(cfg.model)
    model.init_weights()
    key = 'decode_head.conv_seg.weight'
    assert torch.equal(model.segmentor.state_dict()[key], source.state_dict()[key])
    assert model.step == (2 if 'step2' in path else 1)
    assert model.stuff_bank.dim == 128 and not model.with_discriminator_aux


# ------------------------------------------------------------------- resume
def make_pair_data(root) -> tuple:
    """A GTA5-layout source with 4-class labels in 8x8 blocks (regions for the
    instance bank) and an unlabelled Cityscapes-layout target."""
    rng = np.random.default_rng(0)
    gta = root / 'gta5'
    write_random_images(str(gta / 'images'), [f'{i:05d}.png' for i in range(4)], H, W, rng)
    (gta / 'labels').mkdir()
    for i in range(4):
        blocks = rng.integers(0, NUM_CLASSES, (H // 8, W // 8), dtype=np.uint8)
        cv2.imwrite(str(gta / 'labels' / f'{i:05d}_labelTrainIds.png'),
                    np.kron(blocks, np.ones((8, 8), dtype=np.uint8)))
    return str(gta), write_cityscapes_images(str(root / 'cs'), 3, H, W)


def runner_cfg(data_roots, work_dir, iters=4) -> Config:
    """The toy SIM config with the tiny segmentor, small banks and the given data."""
    cfg = Config.fromfile(TOY_CFGS[0])
    cfg.model = model_cfg(classifier_check=dict(source=False, target_stuff=False),
                          loss_stuff=dict(type='StuffMatchingLoss', require_full=False),
                          loss_instance=dict(type='InstanceMatchingLoss',
                                             require_full=False))
    return short_pair_run(cfg, data_roots, work_dir, iters)


def test_kill_and_resume_restores_banks_discriminator_and_optimizers(tmp_path):
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
    for prefix in ('segmentor.', 'discriminator.', 'stuff_bank.', 'instance_bank.'):
        keys = [k for k in full['state_dict'] if k.startswith(prefix)]
        assert keys, prefix
        # the second half changed this part (so restoring it is tested) ...
        assert any(not torch.equal(full['state_dict'][k], halfway['state_dict'][k])
                   for k in keys), prefix
        for k in keys:  # ... and the resumed run ends where the uninterrupted one does
            torch.testing.assert_close(resumed['state_dict'][k], full['state_dict'][k],
                                       msg=k)
    assert {'stuff_bank.features', 'stuff_bank.valid', 'stuff_bank.ptr'} <= set(
        full['state_dict'])
    assert set(full['optimizer']) == {'segmentor', 'discriminator'}
    for name in full['optimizer']:
        assert full['optimizer'][name]['state'], name
        for a, b in zip(full['optimizer'][name]['state'].values(),
                        resumed['optimizer'][name]['state'].values()):
            for key in a:
                torch.testing.assert_close(b[key], a[key], msg=f'{name}.{key}')


@pytest.mark.parametrize('track', ['all', 'target'])
def test_running_statistics_end_on_the_target_batch(track):
    """As AdaptSegNet: the target batch's BN update is applied after the source pass
    (track='all'); track='target' keeps the source batch out."""
    model, optim = build(bn_stats=dict(track=track))
    bn = model.segmentor.backbone.stem[1]
    seen = []
    handle = bn.register_forward_pre_hook(lambda _m, args: seen.append(
        args[0].detach().mean(dim=(0, 2, 3))) if _m.training else None)
    r0, m = bn.running_mean.clone(), bn.momentum
    model.train_step(pair_batch(), optim)
    handle.remove()
    mean_t, mean_s = seen[0], seen[1]  # target pass, then source pass
    expected = (1 - m) * ((1 - m) * r0 + m * mean_s) + m * mean_t if track == 'all' \
        else (1 - m) * r0 + m * mean_t
    torch.testing.assert_close(bn.running_mean, expected)


def test_train_step_keeps_parameters_a_config_froze_frozen():
    model, optim = build()
    frozen = model.discriminator.layers[0].weight
    frozen.requires_grad_(False)
    model.train_step(pair_batch(), optim)
    assert not frozen.requires_grad and model.discriminator.layers[0].bias.requires_grad


def test_backbone_features_on_deeplabv3plus_head_is_a_build_error():
    """The DeepLabV3+ head also reads level 0: classifier_check with backbone features
    cannot re-predict pooled features with it. Named at build, with the fix, instead of
    a channel mismatch from inside the head at the first step; feature_source='head'
    works."""
    seg = model_cfg().segmentor
    seg.backbone.out_indices = (0, 3)
    seg.decode_head = ConfigDict(
        type='DepthwiseSeparableASPPHead', in_channels=DIM, in_index=1, channels=8,
        dilations=(1, 2), c1_in_channels=4, c1_channels=4, num_classes=NUM_CLASSES,
        align_corners=False, loss_decode=dict(type='CrossEntropyLoss'))
    cfg = model_cfg()
    cfg['segmentor'] = seg  # replaced, not merged into the FCN head
    with pytest.raises(ValueError, match=r'\[classifier_on_features\]; '
                       r'DepthwiseSeparableASPPHead fails on pooled 32-channel features '
                       r".*Fix: feature_source='head'"):
        MODELS.build(cfg)
    cfg['feature_source'] = 'head'
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    log = model.train_step(pair_batch(), build_optim_wrapper(model, optim_cfg()))
    assert torch.isfinite(log['seg.loss'])
