"""DAS3Segmentor: what each stage trains, and on which signal."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_sfda  # noqa: F401
from tiny_models import tiny_segmentor_cfg

H, W, C = 32, 64, 4


@pytest.fixture(scope='module')
def source_checkpoint(tmp_path_factory):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = tiny_segmentor_cfg(size=(H, W), num_classes=C)
    cfg.decode_head.dropout_ratio = 0.
    model = MODELS.build(cfg)
    path = str(tmp_path_factory.mktemp('src') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def build(source_checkpoint, **kwargs):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    cfg = tiny_segmentor_cfg(size=(H, W), num_classes=C)
    cfg.decode_head.dropout_ratio = 0.
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DAS3Segmentor', segmentor=cfg,
                              source_checkpoint=source_checkpoint, **kwargs))
    model.init_weights()
    optim = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9)))
    return model, optim


def batch(n=4, easy=None, negative=False, seed=1):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        s = SegDataSample()
        meta = dict(img_shape=(H, W), ori_shape=(H, W))
        if easy is not None:
            meta['pseudo_label_easy'] = easy[i]
        s.set_metainfo(meta)
        label = torch.randint(0, C, (1, H, W), generator=gen)
        label[:, :4] = 255
        s.gt_sem_seg = PixelData(data=label)
        if negative:
            s.gt_negative_mask = PixelData(
                data=torch.rand(C, H, W, generator=gen) < 0.3)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_stage_a_keeps_the_classifier_frozen(source_checkpoint):
    model, optim = build(source_checkpoint, stage='a')
    head0 = params(model.segmentor.decode_head.conv_seg)
    backbone0 = params(model.segmentor.backbone)
    log = model.train_step(batch(), optim)
    assert set(log) >= {'loss_focal_entropy', 'loss_diversity'}
    for k, v in params(model.segmentor.decode_head.conv_seg).items():
        assert torch.equal(v, head0[k]), k
    assert any(not torch.equal(v, backbone0[k])
               for k, v in params(model.segmentor.backbone).items())
    assert not model.with_source_model  # stage a needs no frozen copy


def test_stage_b_learns_from_positive_and_negative_labels(source_checkpoint):
    model, optim = build(source_checkpoint, stage='b')
    with pytest.raises(KeyError, match='gt_negative_mask'):
        model.train_step(batch(), optim)
    head0 = params(model.segmentor.decode_head.conv_seg)
    log = model.train_step(batch(negative=True), optim)
    assert {'pos.loss_ce', 'neg.loss_npl'} <= set(log)
    assert any(not torch.equal(v, head0[k])
               for k, v in params(model.segmentor.decode_head.conv_seg).items())
    # the negative term alone moves the model: labels all ignore
    model, optim = build(source_checkpoint, stage='b')
    data = batch(negative=True)
    for s in data['data_samples']:
        s.gt_sem_seg.data[:] = 255
    w0 = params(model.segmentor)
    log = model.train_step(data, optim)
    assert float(log['neg.loss_npl']) > 0
    assert any(not torch.equal(v, w0[k]) for k, v in params(model.segmentor).items())


def test_stage_c_easy_labels_and_class_mix(source_checkpoint):
    model, optim = build(source_checkpoint, stage='c')
    with pytest.raises(KeyError, match='easy or hard'):
        model.train_step(batch(), optim)
    log = model.train_step(batch(easy=[True, False, False, False]), optim)
    assert {'easy.loss_ce', 'mix.loss_ce'} <= set(log)
    log = model.train_step(batch(easy=[True, True, True, False]), optim)
    assert 'mix.loss_ce' not in log  # one hard image: nothing to mix


def test_stage_c_mix_term_is_the_weighted_cross_entropy_of_the_mixed_images(
        source_checkpoint):
    """Eq. 10's ClassMix term = mix_weight x cross-entropy averaged over the labelled
    pixels of the mixed images (independent formula: F.cross_entropy's mean); it goes
    through the head's loss, whose kernels are deterministic on CUDA too."""
    model, optim = build(source_checkpoint, stage='c', mix_weight=0.5)
    target = torch.randint(0, C, (3, H, W), generator=torch.Generator().manual_seed(3))
    target[:, :, :5] = 255
    model._class_mix = lambda hard: (hard, target)
    seen, target_logits = [], model._target_logits
    model._target_logits = lambda x, m=None: seen.append(target_logits(x, m)) or seen[-1]
    log = model.train_step(batch(easy=[True, False, False, False]), optim)
    expected = 0.5 * F.cross_entropy(seen[0][1:].detach(), target, ignore_index=255)
    assert float(log['mix.loss_ce']) == pytest.approx(float(expected), rel=1e-5)


def test_class_mix_target_is_the_mix_of_predictions(source_checkpoint):
    model, _ = build(source_checkpoint, stage='c')
    data = model.data_preprocessor(batch(), True)
    hard = data['inputs']
    images, target = model._class_mix(hard)
    pred = model._predict(hard)
    partner = torch.roll(torch.arange(len(hard)), -1)
    # where the mixed pixel came from image i, the target is image i's prediction
    from_i = (images == hard).all(dim=1)
    from_j = (images == hard[partner]).all(dim=1) & ~from_i
    assert from_i.any() and from_j.any()
    assert torch.equal(target[from_i], pred[from_i])
    assert torch.equal(target[from_j], pred[partner][from_j])
    # every chosen class of image i is taken whole
    for i in range(len(hard)):
        chosen = pred[i][from_i[i] & ~(hard[i] == hard[partner][i]).all(0)].unique()
        for c in chosen:
            assert from_i[i][pred[i] == c].all()
    # same iteration, same masks (resume-exact)
    images2, target2 = model._class_mix(hard)
    assert torch.equal(images, images2) and torch.equal(target, target2)


def test_prediction_of_mix_and_strong_aug(source_checkpoint):
    model, optim = build(source_checkpoint, stage='c', mix_target='prediction_of_mix',
                         strong_aug=dict(jitter=0.3, blur_prob=1.0))
    data = model.data_preprocessor(batch(), True)
    images, target = model._class_mix(data['inputs'])
    assert torch.equal(target, model._predict(images))
    model.train_step(batch(easy=[False] * 4), optim)
    with pytest.raises(ValueError, match='mix_target'):
        build(source_checkpoint, stage='c', mix_target='nope')
    with pytest.raises(ValueError, match='stage'):
        build(source_checkpoint, stage='d')


def test_black_box_starts_from_its_own_weights(source_checkpoint):
    model, _ = build(source_checkpoint, stage='b', load_source_into_segmentor=False)
    src = torch.load(source_checkpoint)['state_dict']
    key = 'decode_head.conv_seg.weight'
    assert torch.equal(model.source_model.state_dict()[key], src[key])
    assert not torch.equal(model.segmentor.state_dict()[key], src[key])


def test_stage_a_balance_follows_eq2(source_checkpoint):
    """The diversity term carries Eq. 2's alpha like the focal term (at weight 1 it was
    1e3-1e4x the focal term, the reverse of Table 5), and the focal factor is detached."""
    model, _ = build(source_checkpoint, stage='a')
    # one knob (the segmentor's alpha) for Eq. 2's weight, the losses' own weights at 1
    assert model.alpha == 0.002
    assert model.loss_diversity.loss_weight == model.loss_focal.loss_weight == 1.0
    inputs = torch.randn(2, 3, 8, 8)
    torch.manual_seed(0)
    terms = model._alignment_losses(inputs)
    with torch.no_grad():
        torch.manual_seed(0)
        logits = model._target_logits(inputs)
    torch.testing.assert_close(terms['loss_focal_entropy'], 0.002 * model.loss_focal(logits))
    torch.testing.assert_close(terms['loss_diversity'], 0.002 * model.loss_diversity(logits))
    assert model.loss_focal.detach_weight
    logits = torch.randn(2, C, 8, 8, requires_grad=True)
    g_focal, = torch.autograd.grad(model.loss_focal(logits), logits)
    g_div, = torch.autograd.grad(model.loss_diversity(logits), logits)
    ratio = float(g_div.norm() / g_focal.norm())
    assert 0.01 < ratio < 100, ratio
