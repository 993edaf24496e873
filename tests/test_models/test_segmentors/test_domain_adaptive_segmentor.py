"""DomainAdaptiveSegmentor: an mmseg segmentor, its source checkpoint and a frozen copy."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import PixelData

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.models.segmentors import DomainAdaptiveSegmentor

from tiny_models import tiny_segmentor_cfg  # noqa: E402

H, W = 32, 64


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def seg_cfg(num_classes=4, pretrained=None):
    return tiny_segmentor_cfg((H, W), num_classes, pretrained)


def trained_segmentor(num_classes=4, seed=0):
    """A stock EncoderDecoder with random weights and non-trivial BN statistics."""
    torch.manual_seed(seed)
    seg = MODELS.build(seg_cfg(num_classes))
    seg.init_weights()
    with torch.no_grad():
        for p in seg.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        seg.train()
        seg(torch.randn(2, 3, H, W) * 2 + 1, None, mode='tensor')  # moves BN statistics
    return seg.eval()


def assert_state_equal(module, state):
    own = module.state_dict()
    assert set(own) == set(state)
    for key, value in own.items():
        assert torch.equal(value, state[key]), key


@pytest.fixture
def source(tmp_path):
    """(plain mmseg checkpoint path, its state dict)."""
    seg = trained_segmentor()
    path = tmp_path / 'source.pth'
    state = seg.state_dict()
    torch.save(dict(state_dict=state, meta=dict()), path)
    return str(path), state


def build(**kwargs):
    kwargs.setdefault('segmentor', seg_cfg())
    return MODELS.build(dict(type='DomainAdaptiveSegmentor', **kwargs))


def test_build_without_checkpoint():
    model = build()
    assert isinstance(model, DomainAdaptiveSegmentor)
    assert isinstance(model.segmentor, EncoderDecoder)
    assert not model.with_source_model and not hasattr(model, 'source_model')
    # the data preprocessor defaults to the segmentor's
    assert isinstance(model.data_preprocessor, SegDataPreProcessor)
    assert model.data_preprocessor.size == (H, W)
    assert model.segmentor.decode_head.num_classes == 4


@pytest.mark.parametrize('with_source_model', [False, True])
def test_plain_mmseg_checkpoint_is_loaded_on_init_weights(source, with_source_model):
    path, state = source
    model = build(source_checkpoint=path, with_source_model=with_source_model)
    assert model.with_source_model is with_source_model
    # nothing is read before init_weights (a resumed run restores its own weights)
    assert not torch.equal(model.segmentor.decode_head.conv_seg.weight,
                           state['decode_head.conv_seg.weight'])
    model.init_weights()
    assert_state_equal(model.segmentor, state)
    if with_source_model:
        assert_state_equal(model.source_model, state)


def test_wrapper_checkpoint_segmentor_keys_are_used(tmp_path):
    adapted = trained_segmentor(seed=1).state_dict()
    other = trained_segmentor(seed=2).state_dict()
    ckpt = {f'segmentor.{k}': v for k, v in adapted.items()}
    ckpt.update({f'source_model.{k}': v for k, v in other.items()})
    path = tmp_path / 'iter_100.pth'
    torch.save(dict(state_dict=ckpt, meta=dict(iter=100)), path)
    model = build(source_checkpoint=str(path), with_source_model=True)
    model.init_weights()
    assert_state_equal(model.segmentor, adapted)
    assert_state_equal(model.source_model, adapted)


def test_checkpoint_replaces_imagenet_init(source, tmp_path):
    """With source_checkpoint, a backbone init_cfg is dropped (nothing downloaded)."""
    path, state = source
    missing = str(tmp_path / 'imagenet_missing.pth')
    with pytest.raises(Exception):  # the stock segmentor would try to read it
        MODELS.build(seg_cfg(pretrained=missing)).init_weights()
    cfg = seg_cfg(pretrained=missing)
    model = build(segmentor=cfg, source_checkpoint=path, with_source_model=True)
    assert all(c['type'] != 'Pretrained' for c in model.segmentor.backbone.init_cfg)
    assert all(c['type'] != 'Pretrained' for c in model.source_model.backbone.init_cfg)
    model.init_weights()
    assert_state_equal(model.segmentor, state)
    assert cfg['backbone']['init_cfg'] is not None  # the caller's config is not modified


def test_load_source_into_segmentor_false_keeps_its_own_init(source):
    path, state = source
    torch.manual_seed(3)
    model = build(source_checkpoint=path, with_source_model=True,
                  load_source_into_segmentor=False)
    model.init_weights()
    assert_state_equal(model.source_model, state)
    seg = model.segmentor.state_dict()
    assert not torch.equal(seg['decode_head.conv_seg.weight'],
                           state['decode_head.conv_seg.weight'])
    assert torch.all(seg['backbone.stem.1.running_mean'] == 0)  # fresh BN statistics


def test_transfer_only_with_imagenet_pretrained(source, tmp_path):
    path, state = source
    torch.manual_seed(4)
    imagenet = MODELS.build(seg_cfg()).backbone
    with torch.no_grad():
        for p in imagenet.parameters():
            p.normal_()
    pretrained = tmp_path / 'imagenet.pth'
    torch.save(dict(state_dict=imagenet.state_dict()), pretrained)
    cfg = seg_cfg()
    cfg.pretrained = str(pretrained)  # as mmseg's base configs set it (open-mmlab://...)
    model = build(segmentor=cfg, source_checkpoint=path, with_source_model=True,
                  load_source_into_segmentor=False)
    model.init_weights()
    assert_state_equal(model.source_model, state)
    assert torch.equal(model.segmentor.backbone.stem[0].weight, imagenet.stem[0].weight)


def test_data_preprocessor_of_the_segmentor_wins():
    other = dict(type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.])
    model = build(data_preprocessor=other)
    assert model.data_preprocessor.size == (H, W)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(
        [123.675, 116.28, 103.53])
    cfg = seg_cfg()
    del cfg['data_preprocessor']
    model = build(segmentor=cfg, data_preprocessor=other)  # used when the segmentor has none
    assert model.data_preprocessor.size is None
    assert model.data_preprocessor.mean.flatten().tolist() == [0., 0., 0.]


def test_data_preprocessor_type_of_a_subclass():
    from mmseg_sfda.models.data_preprocessors import DomainPairDataPreProcessor

    class PairSegmentor(DomainAdaptiveSegmentor):
        data_preprocessor_type = 'DomainPairDataPreProcessor'

    cfg = seg_cfg()
    model = PairSegmentor(segmentor=cfg)
    assert type(model.data_preprocessor) is DomainPairDataPreProcessor
    assert model.data_preprocessor.size == (H, W)  # the segmentor's settings
    assert type(model.segmentor.data_preprocessor) is SegDataPreProcessor
    assert cfg.data_preprocessor.type == 'SegDataPreProcessor'  # config untouched


def test_frozen_source_model(source):
    path, _ = source
    model = build(source_checkpoint=path, with_source_model=True)
    model.init_weights()
    assert all(p.requires_grad for p in model.segmentor.parameters())
    assert not any(p.requires_grad for p in model.source_model.parameters())
    model.train()
    assert model.training and model.segmentor.training
    assert not any(m.training for m in model.source_model.modules())
    bn = model.source_model.backbone.stem[1]
    mean_before = bn.running_mean.clone()
    with torch.no_grad():
        model.source_model(torch.randn(2, 3, H, W) * 5 + 3, None, mode='tensor')
    assert torch.equal(bn.running_mean, mean_before)  # eval mode: BN statistics never move
    model.eval()
    assert not model.training and not model.segmentor.training
    model.train()
    assert model.segmentor.training and not model.source_model.training


def test_wrong_num_classes_names_both_counts(source):
    path, _ = source
    model = build(segmentor=seg_cfg(num_classes=3), source_checkpoint=path)
    with pytest.raises(ValueError, match='checkpoint has 4 classes, the config 3') as err:
        model.init_weights()
    assert 'decode_head.conv_seg.weight' in str(err.value)
    assert path in str(err.value)


@pytest.mark.parametrize('change', ['drop', 'add'])
def test_key_mismatch_raises_key_error(source, tmp_path, change):
    _, state = source
    state = dict(state)
    if change == 'drop':
        del state['decode_head.conv_seg.bias']
        expected = r'1 keys missing from the checkpoint \(e.g. \[.decode_head.conv_seg.bias.\]\)'
    else:
        state['auxiliary_head.conv_seg.weight'] = torch.zeros(1)
        expected = r'1 keys in the checkpoint the model lacks'
    path = tmp_path / f'{change}.pth'
    torch.save(dict(state_dict=state), path)
    model = build(source_checkpoint=str(path), with_source_model=True)
    with pytest.raises(KeyError, match=expected):
        model.init_weights()


def test_missing_checkpoint_file_is_read_only_when_training_starts(tmp_path):
    """Building (to test or export an adapted checkpoint) does not need the source
    model on disk; initialising the weights (training) names the missing path."""
    path = str(tmp_path / 'no_such_source.pth')
    model = build(source_checkpoint=path, with_source_model=True)
    with pytest.raises(FileNotFoundError, match='no_such_source.pth'):
        model.init_weights()


def test_source_model_needs_a_checkpoint():
    with pytest.raises(ValueError, match='needs source_checkpoint='):
        build(with_source_model=True)


def test_predict_and_forward_delegate_to_the_segmentor(source):
    path, _ = source
    model = build(source_checkpoint=path)
    model.init_weights()
    model.eval()
    inputs = torch.randn(1, 3, H, W)
    with torch.no_grad():
        ours = model.predict(inputs)
        stock = model.segmentor.predict(inputs)
        assert torch.equal(ours[0].pred_sem_seg.data, stock[0].pred_sem_seg.data)
        assert torch.equal(ours[0].seg_logits.data, stock[0].seg_logits.data)
        via_forward = model(inputs, None, mode='predict')
        assert torch.equal(via_forward[0].seg_logits.data, stock[0].seg_logits.data)
        torch.testing.assert_close(model(inputs, None, mode='tensor'),
                                   model.segmentor(inputs, None, mode='tensor'))
        feats = model.extract_feat(inputs)
        assert torch.equal(feats[0], model.segmentor.extract_feat(inputs)[0])
        logits = model.logits(model.segmentor, inputs)
        assert tuple(logits.shape) == (1, 4, H // 8, W // 8)
        assert tuple(model.upsample_like(logits, inputs).shape) == (1, 4, H, W)
        # test_step: raw uint8 BGR batch through the wrapper's data preprocessor
        sample = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
        data = dict(inputs=[torch.randint(0, 256, (3, H, W), dtype=torch.uint8)],
                    data_samples=[sample])
        ours = model.test_step(data)
        stock = model.segmentor.test_step(data)
        assert torch.equal(ours[0].pred_sem_seg.data, stock[0].pred_sem_seg.data)


def test_loss_delegates_to_the_segmentor():
    model = build()
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, H, W)
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, H, W)))
        samples.append(s)
    model.train()
    torch.manual_seed(1)
    ours = model.loss(inputs, samples)
    assert set(ours) == {'decode.loss_ce', 'decode.acc_seg'}
    assert ours['decode.loss_ce'].item() > 0


def test_current_iter_reads_the_message_hub():
    hub = MessageHub.get_instance('test_domain_adaptive_segmentor')
    hub.update_info('iter', 17)
    assert DomainAdaptiveSegmentor.current_iter() == 17
