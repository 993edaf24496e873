"""SelfTrainingSegmentor: source CE + weighted target CE on pseudo labels."""
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_sfda  # noqa: F401
from tiny_models import tiny_segmentor_cfg

H, W, C = 32, 64, 4


def build(**kwargs):
    init_default_scope('mmseg')
    cfg = tiny_segmentor_cfg(size=(H, W), num_classes=C)
    cfg.decode_head.dropout_ratio = 0.
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SelfTrainingSegmentor', segmentor=cfg, **kwargs))
    model.init_weights()
    optim = build_optim_wrapper(model, dict(type='OptimWrapper',
                                            optimizer=dict(type='SGD', lr=0.1)))
    return model, optim


def part(n, seed, label_value=None):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=gen, dtype=torch.uint8))
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        label = torch.randint(0, C, (1, H, W), generator=gen)
        if label_value is not None:
            label[:] = label_value
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_source_and_target_terms_are_logged_and_weighted():
    model, optim = build(target_weight=0.5)
    log = model.train_step(dict(source=part(2, 1), target=part(2, 2)), optim)
    assert {'src.decode.loss_ce', 'tgt.decode.loss_ce'} <= set(log)
    model1, _ = build(target_weight=1.0)
    # same initial weights: the logged target loss is half the unweighted one
    data = model1.data_preprocessor(dict(source=part(2, 1), target=part(2, 2)), True)
    raw = model1.segmentor.loss(data['target']['inputs'], data['target']['data_samples'])
    torch.testing.assert_close(log['tgt.decode.loss_ce'],
                               0.5 * raw['decode.loss_ce'].detach(), rtol=1e-4, atol=1e-6)


def test_ignored_target_pixels_give_no_target_loss():
    model, optim = build()
    log = model.train_step(dict(source=part(2, 1), target=part(2, 2, label_value=255)),
                           optim)
    assert float(log['tgt.decode.loss_ce']) == 0.0
    assert float(log['src.decode.loss_ce']) > 0.0


def test_target_only_batches_and_regulariser():
    model, optim = build(loss_regularizer=dict(type='KLDRegularizationLoss',
                                               loss_weight=0.1))
    w0 = {k: v.clone() for k, v in model.segmentor.state_dict().items()}
    log = model.train_step(part(2, 2), optim)
    assert 'src.decode.loss_ce' not in log and 'tgt.loss_reg' in log
    assert any(not torch.equal(v, w0[k]) for k, v in model.segmentor.state_dict().items())


def half_labelled(n, seed):
    data = part(n, seed)
    for s in data['data_samples']:
        s.gt_sem_seg.data[..., : W // 2] = 255
    return data


def test_pseudo_label_ce_averages_over_labelled_pixels():
    """Half of the pixels ignored: the loss is the mean over the labelled half (as the
    official codes), twice mmseg's default mean over every pixel."""
    from mmseg.models.losses import CrossEntropyLoss
    model, _ = build()
    ce = [m for m in model.segmentor.modules() if isinstance(m, CrossEntropyLoss)]
    assert ce and all(m.avg_non_ignore for m in ce)
    data = model.data_preprocessor(dict(source=part(2, 1), target=half_labelled(2, 2)), True)
    target = data['target']
    labelled = model.segmentor.loss(target['inputs'], target['data_samples'])
    for m in ce:
        m.avg_non_ignore = False
    every = model.segmentor.loss(target['inputs'], target['data_samples'])
    torch.testing.assert_close(labelled['decode.loss_ce'], 2 * every['decode.loss_ce'])


def _running(model):
    return {k: v.clone() for k, v in model.segmentor.state_dict().items()
            if 'running' in k}


def test_track_target_keeps_source_batches_out_of_running_statistics():
    target_only, optim = build()
    target_only.train_step(part(2, 2), optim)
    expected = _running(target_only)
    for track, same in (('target', True), ('all', False)):
        model, optim = build(bn_stats=dict(track=track))
        model.train_step(dict(source=part(2, 1), target=part(2, 2)), optim)
        got = _running(model)
        assert all(torch.allclose(got[k], expected[k]) for k in expected) is same, track
