"""PixIntraDASegmentor: the partial seg loss counts only easy pixels, the pixel-level
adversarial terms (binary Eq. 6, continuous Eq. 7-8), what each step updates, pixel-size
discriminator outputs, round 2 (KLD), kill-and-resume of every part."""
import copy
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmengine.structures import PixelData

import mmseg_sfda  # noqa: F401
import mmseg_sfda.models.segmentors.pix_intra_da_segmentor  # noqa: F401 (registers)
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.utils.pseudo_label_io import round_file, write_confidence, write_label

from tiny_models import tiny_segmentor_cfg  # noqa: E402
from runner_utils import Interrupted  # (its module registers InterruptHook)

H, W = 32, 64
NUM_CLASSES = 4
TOY_CFG = 'configs/toy/pixintrada_deeplabv3_r18_toy-gta2cs.py'
BN = dict(type='BN', requires_grad=True)
PARTS = ('segmentor', 'discriminator', 'discriminator_aux')


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def segmentor_cfg(multi_level: bool = True) -> ConfigDict:
    """The tiny segmentor (CE averaged over labelled pixels); multi-level: an FCN
    auxiliary head on stage 3 with loss weight 0.1, as DeepLab-V2's res4 classifier."""
    seg = tiny_segmentor_cfg((H, W), NUM_CLASSES)
    seg.decode_head.dropout_ratio = 0.  # no RNG in the step: resume is exact
    seg.decode_head.loss_decode = dict(type='CrossEntropyLoss', loss_weight=1.0,
                                       avg_non_ignore=True)
    if multi_level:
        seg.backbone.out_indices = (2, 3)
        seg.decode_head.in_index = 1
        seg.auxiliary_head = dict(
            type='FCNHead', in_channels=16, in_index=0, channels=8, num_convs=1,
            concat_input=False, num_classes=NUM_CLASSES, dropout_ratio=0., norm_cfg=BN,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.1,
                             avg_non_ignore=True))
    return seg


def model_cfg(multi_level: bool = True, **kwargs) -> ConfigDict:
    disc = dict(type='FCDiscriminator', num_classes=NUM_CLASSES, ndf=8,
                upsample_to_input=True)
    cfg = ConfigDict(
        type='PixIntraDASegmentor', segmentor=segmentor_cfg(multi_level),
        source_checkpoint=None, with_source_model=False,
        discriminator=disc, discriminator_aux=disc if multi_level else None,
        lambda_adv_main=0.5, lambda_adv_aux=0.25)  # large enough to see their effect
    for key, value in kwargs.items():  # replace, not merge (ConfigDict.update merges)
        cfg[key] = value
    return cfg


def optim_cfg(names=PARTS) -> dict:
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


def crafted(n: int = 2, seed: int = 2, hard_fraction: float = 0.5):
    """A target batch as LoadPseudoLabel + PackSegInputsWithExtras give it: G_inter's
    arg-max class and confidence per pixel, the label 255 where the confidence is
    below the (scaled) threshold of its class - the hard pixels."""
    gen = torch.Generator().manual_seed(seed)
    thresholds = torch.tensor([0.9, 0.6, 0.5, 0.7])  # alpha * t_k
    inputs, samples, hard = [], [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        cls = torch.randint(0, NUM_CLASSES, (H, W), generator=gen)
        # exactly hard_fraction of the pixels below their class threshold
        order = torch.randperm(H * W, generator=gen).view(H, W)
        is_hard = order < int(hard_fraction * H * W)
        thr = thresholds[cls]
        conf = torch.where(is_hard, thr * (0.5 + 0.49 * torch.rand(H, W, generator=gen)),
                           thr + (1 - thr) * torch.rand(H, W, generator=gen))
        label = torch.where(conf >= thr, cls, torch.full_like(cls, 255))
        sample = SegDataSample()
        sample.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        sample.gt_sem_seg = PixelData(data=label[None])
        sample.set_data(dict(gt_confidence=PixelData(data=conf[None].float())))
        samples.append(sample)
        hard.append(label == 255)
    return dict(inputs=inputs, data_samples=samples), torch.stack(hard)


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return [k for k, v in before.items()
            if v.dtype.is_floating_point and not torch.equal(v, after[k])]


def parts(model):
    return ['segmentor'] + [name for name, _ in model.discriminators()]


def split_of(model, batch):
    """The batch as the segmentor step reads it (target part, pixel split) and the
    split with the continuous index."""
    data = model.split_batch(model.data_preprocessor(batch, True))
    target = data['target']
    return data, model.pixel_split(target['inputs'], target['data_samples'],
                                   need_index=True)


# ----------------------------------------------------------- the pixel split
def test_split_follows_the_pseudo_labels_and_confidences():
    model, _ = build(False)
    batch, hard = crafted(hard_fraction=0.3)
    data, split = split_of(model, batch)
    assert torch.equal(split['hard'], hard) and torch.equal(split['easy'], ~hard)
    assert split['valid'].all()
    conf = torch.stack([s.gt_confidence.data[0] for s in data['target']['data_samples']])
    torch.testing.assert_close(split['index'], torch.where(hard, 1 - conf,
                                                           torch.zeros_like(conf)))
    assert (split['index'][~hard] == 0).all() and (split['index'][hard] > 0).all()


def test_padding_is_neither_easy_nor_hard():
    """A crop smaller than the preprocessor's size is padded right / bottom: those pixels
    get no pseudo label and take no part in the binary adversarial terms."""
    model, _ = build(False)
    batch, _ = crafted(n=1)
    small = 24
    batch['inputs'][0] = batch['inputs'][0][:, :small]
    sample = batch['data_samples'][0]
    sample.gt_sem_seg = PixelData(data=sample.gt_sem_seg.data[:, :small])
    sample.set_data(dict(gt_confidence=PixelData(data=sample.gt_confidence.data[:, :small])))
    sample.set_metainfo(dict(img_shape=(small, W)))
    _, split = split_of(model, batch)
    assert split['valid'][0, :small].all() and not split['valid'][0, small:].any()
    assert not (split['easy'] | split['hard'])[0, small:].any()
    assert (split['index'][0, small:] == 0).all()


# ------------------------------------------------------ partial seg loss, Eq. 5
@pytest.mark.parametrize('hard_fraction', [0.3, 0.7])
def test_partial_seg_loss_counts_only_easy_pixels(hard_fraction):
    """The logged target CE is the CE of the upsampled logits over the easy pixels,
    whatever the logits on the hard ones; Eq. 4 on the batch is logged."""
    model, optim = build(False, lambda_adv_main=0.)
    reference = copy.deepcopy(model.segmentor)
    batch, hard = crafted(hard_fraction=hard_fraction)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    logits = F.interpolate(reference(data['inputs'], None, 'tensor'), size=(H, W),
                           mode='bilinear', align_corners=False)
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    per_pixel = F.cross_entropy(logits, labels.clamp(max=NUM_CLASSES - 1),
                                reduction='none')
    log = model.train_step(batch, optim)
    torch.testing.assert_close(log['tgt.decode.loss_ce'], per_pixel[~hard].mean().detach())
    assert not torch.isclose(log['tgt.decode.loss_ce'], per_pixel.mean().detach())
    torch.testing.assert_close(log['tgt.easy_prop'], (~hard).float().mean())


def test_all_hard_gives_no_seg_loss_and_all_easy_no_adversarial_g_loss():
    model, optim = build(False)
    log = model.train_step(crafted(hard_fraction=1.0)[0], optim)
    assert float(log['tgt.decode.loss_ce']) == 0. and float(log['seg.loss_adv_main']) > 0.
    assert float(log['tgt.easy_prop']) == 0.
    model, optim = build(False)
    log = model.train_step(crafted(hard_fraction=0.0)[0], optim)
    assert float(log['seg.loss_adv_main']) == 0. and float(log['tgt.decode.loss_ce']) > 0.


# ------------------------------------------------------------ the full step
@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
@pytest.mark.parametrize('multi_level', [False, True])
def test_train_step_trains_every_part_and_adds_up_its_losses(adversarial, multi_level):
    model, optim = build(multi_level, adversarial=adversarial)
    assert model.with_discriminator_aux is multi_level and model.loss_kld is None
    before = {name: state(getattr(model, name)) for name in parts(model)}
    log = model.train_step(crafted()[0], optim)
    levels = ['main', 'aux'] if multi_level else ['main']
    expected = {'seg.loss', 'tgt.decode.loss_ce', 'tgt.easy_prop'}
    expected |= {f'seg.loss_adv_{lv}' for lv in levels} | {f'disc.loss_{lv}' for lv in levels}
    if adversarial == 'binary':
        expected |= {f'disc.acc_{lv}' for lv in levels}
    assert expected <= set(log)
    assert ('tgt.aux.loss_ce' in log) is multi_level  # Eq. 5 on the auxiliary head too
    assert all(torch.isfinite(v) and not v.requires_grad for v in log.values())
    # every logged term is weighted: seg.loss is their sum (mmengine's parse_losses)
    terms = ['tgt.decode.loss_ce', 'seg.loss_adv_main']
    if multi_level:
        terms += ['tgt.aux.loss_ce', 'seg.loss_adv_aux']
    torch.testing.assert_close(log['seg.loss'], sum(log[k] for k in terms))
    for name, old in before.items():
        assert changed(old, getattr(model, name)), f'{name} did not train'
    assert all(p.requires_grad for name in parts(model)
               for p in getattr(model, name).parameters())


@pytest.mark.parametrize('multi_level', [False, True])
def test_discriminator_outputs_have_the_input_size(multi_level):
    model, optim = build(multi_level)
    data, split = split_of(model, crafted()[0])
    d_inputs = model.train_segmentor(data, optim, {})
    assert set(d_inputs) == ({'tgt_main', 'tgt_aux'} if multi_level else {'tgt_main'})
    for key, x in d_inputs.items():
        assert tuple(x.shape) == (2, NUM_CLASSES, H, W) and not x.requires_grad
        torch.testing.assert_close(x.sum(1), torch.ones(2, H, W))  # softmax
        name = 'discriminator' if key == 'tgt_main' else 'discriminator_aux'
        assert tuple(getattr(model, name)(x).shape) == (2, 1, H, W)


def test_binary_losses_are_per_pixel_bce():
    """D: BCE(D, M) over all pixels (easy -> 0, hard -> 1); G: BCE(D, 0) on hard pixels,
    summed and divided by all pixels; the logged G term is weighted (lambda_adv_main)."""
    model, optim = build(False)
    data, split = split_of(model, crafted()[0])
    disc = copy.deepcopy(model.discriminator)
    log = {}
    d_inputs = model.train_segmentor(data, optim, log)
    with torch.no_grad():
        d = disc(d_inputs['tgt_main'])[:, 0]
        hard = split['hard'].float()
        g = (F.binary_cross_entropy_with_logits(d, torch.zeros_like(d), reduction='none')
             * hard).mean()
        d_loss = F.binary_cross_entropy_with_logits(d, hard)
        acc = ((d > 0) == split['hard']).float().mean() * 100
    torch.testing.assert_close(log['seg.loss_adv_main'], 0.5 * g)
    model.train_discriminators(d_inputs, data, optim, log)
    torch.testing.assert_close(log['disc.loss_main'], d_loss)
    torch.testing.assert_close(log['disc.acc_main'], acc)


def test_continuous_losses_regress_the_index():
    """D: ||sigmoid(D) - Z||^2 / N; G: ||sigmoid(D) o M||^2 / N (Eq. 8, mean reduction)."""
    model, optim = build(False, adversarial='continuous')
    data, split = split_of(model, crafted()[0])
    disc = copy.deepcopy(model.discriminator)
    log = {}
    d_inputs = model.train_segmentor(data, optim, log)
    with torch.no_grad():
        d = torch.sigmoid(disc(d_inputs['tgt_main'])[:, 0])
    torch.testing.assert_close(log['seg.loss_adv_main'],
                               0.5 * (d * split['hard']).pow(2).mean())
    model.train_discriminators(d_inputs, data, optim, log)
    torch.testing.assert_close(log['disc.loss_main'], (d - split['index']).pow(2).mean())
    assert 'disc.acc_main' not in log


@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
def test_discriminator_learns_the_split(adversarial):
    model, optim = build(False, adversarial=adversarial)
    data, split = split_of(model, crafted()[0])
    d_inputs = model.train_segmentor(data, optim, {})
    losses = []
    for _ in range(5):
        log = {}
        model.train_discriminators(d_inputs, data, optim, log)
        losses.append(float(log['disc.loss_main']))
    assert losses[-1] < losses[0]


# ------------------------------------------------------------ gradient isolation
@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
def test_segmentor_step_gives_the_discriminators_no_gradient(adversarial):
    model, optim = build(True, adversarial=adversarial)
    discs = {name: state(getattr(model, name)) for name in PARTS[1:]}
    seg = state(model.segmentor)
    data, split = split_of(model, crafted()[0])
    model.train_segmentor(data, optim, {})
    assert changed(seg, model.segmentor)
    for name, old in discs.items():
        module = getattr(model, name)
        assert not changed(old, module), f'{name} moved in the segmentor step'
        assert all(p.grad is None or not p.grad.any() for p in module.parameters()), name
        assert all(p.requires_grad for p in module.parameters()), name


@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
def test_discriminator_step_leaves_the_segmentor_untouched(adversarial):
    model, optim = build(True, adversarial=adversarial)
    data, split = split_of(model, crafted()[0])
    d_inputs = model.train_segmentor(data, optim, {})
    seg = state(model.segmentor)  # weights and BN running statistics
    model.segmentor.zero_grad(set_to_none=True)
    discs = {name: state(getattr(model, name)) for name in PARTS[1:]}
    log = {}
    model.train_discriminators(d_inputs, data, optim, log)
    assert all(torch.equal(v, seg[k]) for k, v in model.segmentor.state_dict().items())
    assert all(p.grad is None for p in model.segmentor.parameters())
    for name, old in discs.items():
        assert changed(old, getattr(model, name)), name


@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
@pytest.mark.parametrize('level', ['main', 'aux'])
def test_adversarial_gradient_reaches_the_segmentor(adversarial, level):
    """With the other weight at 0, lambda_adv_<level> > 0 moves the segmentor away from
    where the partial seg loss alone takes it, through that level's head."""
    betas = dict(lambda_adv_main=0., lambda_adv_aux=0.)
    results = []
    for weight in (0., 10.):
        model, optim = build(True, adversarial=adversarial,
                             **dict(betas, **{f'lambda_adv_{level}': weight}))
        data, split = split_of(model, crafted()[0])
        model.train_segmentor(data, optim, {})
        results.append(state(model.segmentor))
    head = 'decode_head' if level == 'main' else 'auxiliary_head'
    differs = [k for k in results[0] if not torch.equal(results[0][k], results[1][k])]
    assert any(k.startswith(head) for k in differs), differs
    assert any(k.startswith('backbone') for k in differs)
    if level == 'main':
        assert not any(k.startswith('auxiliary_head') for k in differs)


# ------------------------------------------------------------------ round 2
def test_round_2_adds_the_kld_regulariser_on_easy_pixels():
    model, optim = build(False, loss_kld=dict(type='KLDRegularizationLoss'), lambda_kld=0.1)
    assert model.loss_kld is not None and model.loss_kld.loss_weight == 1.0
    reference = copy.deepcopy(model.segmentor)
    batch, hard = crafted()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    logits = F.interpolate(reference(data['inputs'], None, 'tensor'), size=(H, W),
                           mode='bilinear', align_corners=False)
    expected = 0.1 * (-F.log_softmax(logits, 1).mean(1))[~hard].mean()
    log = model.train_step(batch, optim)
    torch.testing.assert_close(log['seg.loss_kld'], expected.detach())
    torch.testing.assert_close(
        log['seg.loss'], log['tgt.decode.loss_ce'] + log['seg.loss_adv_main'] +
        log['seg.loss_kld'])
    assert build(False)[0].loss_kld is None  # round 1, and "+T=1" without KLD


# ---------------------------------------------------------- source, errors
def test_pair_batches_need_a_source_weight():
    model, optim = build(False)
    target, _ = crafted()
    source, _ = crafted(seed=5, hard_fraction=0.)
    with pytest.raises(ValueError, match='source_loss_weight'):
        model.train_step(dict(source=source, target=target), optim)
    model, optim = build(False, source_loss_weight=0.5)
    log = model.train_step(dict(source=source, target=target), optim)
    reference, reference_optim = build(False, source_loss_weight=1.0)
    full = reference.train_step(dict(source=source, target=target), reference_optim)
    torch.testing.assert_close(log['src.decode.loss_ce'], 0.5 * full['src.decode.loss_ce'])
    torch.testing.assert_close(
        log['seg.loss'], log['tgt.decode.loss_ce'] + log['seg.loss_adv_main'] +
        log['src.decode.loss_ce'])


def test_clear_errors():
    with pytest.raises(ValueError, match='adversarial must be'):
        MODELS.build(model_cfg(False, adversarial='soft'))
    with pytest.raises(ValueError, match='no auxiliary_head'):
        MODELS.build(model_cfg(False, discriminator_aux=dict(
            type='FCDiscriminator', num_classes=NUM_CLASSES, upsample_to_input=True)))
    with pytest.raises(ValueError, match='upsample_to_input=True'):
        MODELS.build(model_cfg(False, discriminator=dict(
            type='FCDiscriminator', num_classes=NUM_CLASSES)))
    with pytest.raises(ValueError, match='num_classes=4'):
        MODELS.build(model_cfg(False, discriminator=dict(
            type='FCDiscriminator', num_classes=19, upsample_to_input=True)))
    with pytest.raises(ValueError, match='loss_kld must be a loss config or None'):
        MODELS.build(model_cfg(False, loss_kld='auto'))
    with pytest.raises(ValueError, match='needs source_checkpoint'):
        MODELS.build(model_cfg(False, with_source_model=True))
    model, optim = build(False, adversarial='continuous')
    batch, _ = crafted()
    for s in batch['data_samples']:
        del s.gt_confidence
    with pytest.raises(KeyError, match='with_confidence=True'):
        model.train_step(batch, optim)
    for s in batch['data_samples']:
        del s.gt_sem_seg
    with pytest.raises(KeyError, match='LoadPseudoLabel'):
        model.train_step(batch, optim)


def test_head_forward_is_restored_and_inference_is_the_segmentors():
    model, optim = build(True)
    model.train_step(crafted()[0], optim)
    for head in (model.segmentor.decode_head, model.segmentor.auxiliary_head):
        assert 'forward' not in head.__dict__
    model.eval()
    x = torch.randn(1, 3, H, W)
    with torch.no_grad():
        torch.testing.assert_close(model(x, None, mode='tensor'),
                                   model.segmentor(x, None, mode='tensor'))


def test_frozen_inter_domain_copy_labels_and_starts_the_segmentor(tmp_path):
    """The frozen copy of G_inter (what PseudoLabelHook(model='source_model') labels
    with) and the segmentor both start from source_checkpoint."""
    torch.manual_seed(1)
    inter = MODELS.build(segmentor_cfg(False))
    path = str(tmp_path / 'inter.pth')
    torch.save(dict(state_dict={f'segmentor.{k}': v for k, v in inter.state_dict().items()}),
               path)
    model, _ = build(False, source_checkpoint=path, with_source_model=True)
    for k, v in inter.state_dict().items():
        assert torch.equal(model.segmentor.state_dict()[k], v), k
        assert torch.equal(model.source_model.state_dict()[k], v), k
    assert not any(p.requires_grad for p in model.source_model.parameters())


def test_toy_config_builds():
    cfg = Config.fromfile(TOY_CFG)
    cfg.model.source_checkpoint = None
    cfg.model.with_source_model = False
    model = MODELS.build(cfg.model)
    assert model.adversarial == 'binary' and not model.with_discriminator_aux
    assert model.discriminator.upsample_to_input
    hook = cfg.custom_hooks[0]
    assert hook.type == 'PseudoLabelHook' and hook.model == 'source_model'
    assert hook.policy.type == 'median' and hook.max_rounds == 1


# ------------------------------------------------------------------- resume
def make_target_data(root) -> tuple:
    """Cityscapes-layout target images and one round of pseudo labels + confidence."""
    rng = np.random.default_rng(0)
    city, round_dir = root / 'cs', str(root / 'round_0')
    img_dir = city / 'leftImg8bit' / 'train' / 'c'
    img_dir.mkdir(parents=True)
    for i in range(4):
        stem = f'c_000000_{i:06d}_leftImg8bit'
        cv2.imwrite(str(img_dir / f'{stem}.png'),
                    rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        conf = rng.uniform(0.3, 1.0, (H, W)).astype(np.float32)
        label = rng.integers(0, NUM_CLASSES, (H, W)).astype(np.uint8)
        label[conf < 0.6] = 255
        write_label(round_file(round_dir, 'labels', stem), label)
        write_confidence(round_file(round_dir, 'confidence', stem), conf)
    return str(city), round_dir


def runner_cfg(data, work_dir, adversarial, iters=4) -> Config:
    """The toy PixIntraDA config with the tiny multi-level segmentor and fixed labels."""
    cfg = Config.fromfile(TOY_CFG)
    cfg.model = model_cfg(True, adversarial=adversarial)
    cfg.optim_wrapper.discriminator_aux = copy.deepcopy(cfg.optim_wrapper.discriminator)
    cfg.param_scheduler.discriminator_aux = copy.deepcopy(cfg.param_scheduler.discriminator)
    cfg.custom_hooks = []
    cfg.work_dir = work_dir
    city, round_dir = data
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for t in pipeline:
        if t['type'] == 'LoadPseudoLabel':
            t['pseudo_label_dir'] = round_dir
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='CityscapesDataset', data_root=city,
                     data_prefix=dict(img_path='leftImg8bit/train'), pipeline=pipeline))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=iters // 2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return cfg


@pytest.mark.parametrize('adversarial', ['binary', 'continuous'])
def test_kill_and_resume_restores_every_part(tmp_path, adversarial):
    data = make_target_data(tmp_path)
    Runner.from_cfg(runner_cfg(data, str(tmp_path / 'full'), adversarial)).train()
    cfg = runner_cfg(data, str(tmp_path / 'killed'), adversarial)
    cfg.custom_hooks = [dict(type='InterruptHook', at=2)]
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    cfg = runner_cfg(data, str(tmp_path / 'killed'), adversarial)
    cfg.resume = True
    Runner.from_cfg(cfg).train()

    full = torch.load(osp.join(tmp_path, 'full', 'iter_4.pth'), weights_only=False)
    resumed = torch.load(osp.join(tmp_path, 'killed', 'iter_4.pth'), weights_only=False)
    halfway = torch.load(osp.join(tmp_path, 'full', 'iter_2.pth'), weights_only=False)
    for prefix in ('segmentor.', 'discriminator.', 'discriminator_aux.'):
        keys = [k for k in full['state_dict'] if k.startswith(prefix)]
        assert keys, prefix
        # the second half trained this part (so restoring it is tested) ...
        assert any(not torch.equal(full['state_dict'][k], halfway['state_dict'][k])
                   for k in keys if full['state_dict'][k].dtype.is_floating_point), prefix
        for k in keys:  # ... and the resumed run ends where the uninterrupted one does
            torch.testing.assert_close(resumed['state_dict'][k], full['state_dict'][k],
                                       msg=k)
    assert set(full['optimizer']) == set(PARTS)
    for name in full['optimizer']:
        assert full['optimizer'][name]['state'], name
        for a, b in zip(full['optimizer'][name]['state'].values(),
                        resumed['optimizer'][name]['state'].values()):
            for key in a:
                torch.testing.assert_close(b[key], a[key], msg=f'{name}.{key}')
        lrs = [g['lr'] for g in full['optimizer'][name]['param_groups']]
        assert lrs == [g['lr'] for g in resumed['optimizer'][name]['param_groups']]
    assert set(full['param_schedulers']) == set(resumed['param_schedulers'])
