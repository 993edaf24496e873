import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.models.heads import DeepLabV2Head

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models')


def _inputs(channels=(4, 8, 12, 16), size=(9, 11), batch=2):
    """Fake multi-level backbone outputs (all at the same stride)."""
    torch.manual_seed(0)
    return [torch.randn(batch, c, *size) for c in channels]


def _branch_sum(head, x):
    """Reference: the branch convs applied one by one with F.conv2d."""
    out = 0
    for conv, d in zip(head.conv_seg, head.dilations):
        out = out + F.conv2d(
            x, conv.weight, conv.bias, padding=d, dilation=d)
    return out


def _data_samples(batch, size, num_classes):
    """SegDataSamples with random labels (and some ignored pixels)."""
    samples = []
    for _ in range(batch):
        label = torch.randint(0, num_classes, (1, *size))
        label[:, :2] = 255
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


def test_output_shape_and_branch_sum():
    head = DeepLabV2Head(in_channels=16, in_index=3, num_classes=5)
    inputs = _inputs()
    out = head(inputs)
    assert out.shape == (2, 5, 9, 11)
    assert head.dilations == (6, 12, 18, 24)
    assert len(head.conv_seg) == 4
    for conv, d in zip(head.conv_seg, head.dilations):
        assert conv.kernel_size == (3, 3) and conv.dilation == (d, d)
        assert conv.padding == (d, d) and conv.bias is not None
        assert conv.in_channels == 16 and conv.out_channels == 5
    torch.testing.assert_close(out, _branch_sum(head, inputs[3]))


def test_all_branches_get_gradients():
    head = DeepLabV2Head(in_channels=16, in_index=3, num_classes=5)
    # feature map larger than the largest dilation so every tap is used
    head(_inputs(size=(30, 30))).square().sum().backward()
    for conv in head.conv_seg:
        assert conv.weight.grad is not None and conv.weight.grad.abs().sum()
        assert conv.bias.grad is not None and conv.bias.grad.abs().sum()


def test_two_branch_form():
    head = DeepLabV2Head(
        in_channels=16, in_index=3, num_classes=5, dilations=(6, 12))
    inputs = _inputs()
    assert len(head.conv_seg) == 2
    torch.testing.assert_close(head(inputs), _branch_sum(head, inputs[3]))


def test_init_normal_std_001_and_zero_bias():
    head = DeepLabV2Head(in_channels=256, in_index=0, num_classes=19)
    head.init_weights()  # default init_cfg overrides ``conv_seg``
    for conv in head.conv_seg:
        assert abs(conv.weight.std().item() - 0.01) < 1e-3
        assert torch.all(conv.bias == 0)


def test_no_unused_parameters_through_loss_api():
    head = MODELS.build(
        dict(
            type='DeepLabV2Head',
            in_channels=16,
            in_index=3,
            num_classes=5,
            dropout_ratio=0.1,
            loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True)))
    head.train()
    inputs = _inputs(size=(8, 8))
    # labels at 4x the feature resolution, as in a real segmentor
    losses = head.loss(inputs, _data_samples(2, (32, 32), 5), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    params = dict(head.named_parameters())
    assert set(params) == {
        f'conv_seg.{i}.{p}'
        for i in range(4) for p in ('weight', 'bias')
    }
    for name, param in params.items():
        assert param.grad is not None, name


def test_aux_head_on_res4():
    inputs = _inputs(channels=(256, 512, 1024, 2048), size=(5, 5), batch=1)
    aux = DeepLabV2Head(in_channels=1024, in_index=2, num_classes=19)
    out = aux(inputs)
    assert out.shape == (1, 19, 5, 5)
    torch.testing.assert_close(out, _branch_sum(aux, inputs[2]))


def test_predict_resizes_to_input():
    head = DeepLabV2Head(in_channels=16, in_index=3, num_classes=5)
    head.eval()
    logits = head.predict(_inputs(), [dict(img_shape=(36, 44))], dict())
    assert logits.shape == (2, 5, 36, 44)


@pytest.mark.parametrize('kwargs, match', [
    (dict(dilations=()), 'dilations'),
    (dict(dilations=(6, 0)), r'\(6, 0\)'),
    (dict(channels=512), 'channels=512'),
    (dict(input_transform='multiple_select', in_index=[0, 1],
          in_channels=[4, 8]), 'multiple_select'),
])
def test_bad_config_values_raise(kwargs, match):
    cfg = dict(in_channels=16, num_classes=5)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DeepLabV2Head(**cfg)


def test_channels_equal_to_in_channels_is_accepted():
    head = DeepLabV2Head(in_channels=16, channels=16, num_classes=5)
    assert head.channels == 16


def test_base_configs_build_and_run():
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'deeplabv2_r101.py'))
    assert 'auxiliary_head' not in cfg.model
    cfg = Config.fromfile(osp.join(CONFIG_DIR,
                                   'deeplabv2_r101_multilevel.py'))
    aux = cfg.model.auxiliary_head
    assert (aux.in_index, aux.in_channels) == (2, 1024)
    assert aux.loss_decode.loss_weight == 0.1
    cfg.model.data_preprocessor.size = (33, 33)  # set by dataset configs
    model = MODELS.build(cfg.model)  # no init_weights: no download
    assert isinstance(model.decode_head, DeepLabV2Head)
    assert isinstance(model.auxiliary_head, DeepLabV2Head)
    assert len(model.decode_head.conv_seg) == 4
    model.train()
    data = dict(
        inputs=[torch.randint(0, 255, (3, 33, 33), dtype=torch.uint8)],
        data_samples=_data_samples(1, (33, 33), 19))
    data = model.data_preprocessor(data, training=True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (1, 19, 5, 5)  # output stride 8
