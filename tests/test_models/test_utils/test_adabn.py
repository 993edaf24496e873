"""AdaBN: BN statistics re-estimated as exact averages over the target batches."""
import copy
import functools
import io

import pytest
import torch
from mmengine.utils import ProgressBar
from torch import nn

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.models.utils import adabn
from mmseg_sfda.models.utils.adabn import adapt_bn_statistics, batch_norm_layers

from tiny_models import tiny_segmentor_cfg  # noqa: E402

H, W = 32, 64


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def source_cfg():
    return tiny_segmentor_cfg((H, W))


def segmentor():
    torch.manual_seed(0)
    model = MODELS.build(source_cfg())
    model.init_weights()
    return model


def target_batches(n=3, batch_size=2, seed=1):
    """Raw uint8 BGR images from a known distribution (uniform on [60, 200))."""
    gen = torch.Generator().manual_seed(seed)
    return [dict(inputs=[torch.randint(60, 200, (3, H, W), generator=gen, dtype=torch.uint8)
                         for _ in range(batch_size)],
                 data_samples=[SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
                               for _ in range(batch_size)])
            for _ in range(n)]


def bn_inputs(model, batches):
    """The input of every BN layer in each batch's train-mode forward, on a copy.

    In train mode BN normalises with batch statistics, so what each layer sees does not
    depend on its running statistics: the copy sees what the adapted model saw.
    """
    probe = copy.deepcopy(model).train()
    seen = {name: [] for name, m in probe.named_modules() if isinstance(m, nn.BatchNorm2d)}
    for name, m in probe.named_modules():
        if name in seen:
            m.register_forward_pre_hook(lambda mod, args, name=name: seen[name].append(
                args[0].detach().clone()))
    with torch.no_grad():
        for batch in batches:
            data = probe.data_preprocessor(copy.deepcopy(batch), False)
            probe(data['inputs'], data['data_samples'], mode='tensor')
    return seen


def test_running_mean_is_the_exact_mean_over_all_batches():
    model = segmentor().eval()
    batches = target_batches()
    seen = bn_inputs(model, batches)
    for bn in batch_norm_layers(model):  # statistics of ImageNet-like init, to be replaced
        bn.running_mean.fill_(7.0)
        bn.running_var.fill_(3.0)
    used = adapt_bn_statistics(model, batches, show_progress=False)
    assert used == 3
    named = dict(model.named_modules())
    assert len(seen) == len(batch_norm_layers(model)) > 10
    for name, inputs in seen.items():
        bn = named[name]
        assert len(inputs) == 3
        # equal-sized batches: the average of batch means is the mean over all pixels
        everything = torch.cat(inputs)
        torch.testing.assert_close(bn.running_mean, everything.mean(dim=(0, 2, 3)),
                                   rtol=1e-4, atol=1e-5, msg=name)
        # cumulative average of the unbiased per-batch variances (momentum=None)
        per_batch_var = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in inputs])
        torch.testing.assert_close(bn.running_var, per_batch_var.mean(0),
                                   rtol=1e-4, atol=1e-5, msg=name)
        assert int(bn.num_batches_tracked) == 3


def test_first_bn_against_the_stem_conv_by_hand():
    model = segmentor()
    batches = target_batches()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    conv = model.backbone.stem[0]
    assert isinstance(model.backbone.stem[1], nn.BatchNorm2d)
    with torch.no_grad():
        outs = []
        for batch in batches:
            rgb = torch.stack(batch['inputs']).float()[:, [2, 1, 0]]
            outs.append(nn.functional.conv2d((rgb - mean) / std, conv.weight,
                                             stride=conv.stride, padding=conv.padding))
    expected = torch.cat(outs).mean(dim=(0, 2, 3))
    adapt_bn_statistics(model, batches, show_progress=False)
    torch.testing.assert_close(model.backbone.stem[1].running_mean, expected,
                               rtol=1e-4, atol=1e-4)


def test_max_batches_uses_the_first_batches_only():
    model = segmentor()
    batches = target_batches()
    seen = bn_inputs(model, batches[:1])
    used = adapt_bn_statistics(model, batches, max_batches=1, show_progress=False)
    assert used == 1
    stem_bn = model.backbone.stem[1]
    torch.testing.assert_close(stem_bn.running_mean,
                               seen['backbone.stem.1'][0].mean(dim=(0, 2, 3)),
                               rtol=1e-4, atol=1e-5)
    assert int(stem_bn.num_batches_tracked) == 1


def test_momentum_mode_and_weights_are_restored(monkeypatch):
    model = segmentor().eval()
    layers = batch_norm_layers(model)
    layers[0].momentum = 0.3
    momenta = [bn.momentum for bn in layers]
    params = {k: v.clone() for k, v in model.named_parameters()}
    shown = io.StringIO()
    monkeypatch.setattr(adabn, 'ProgressBar', functools.partial(ProgressBar, file=shown))
    adapt_bn_statistics(model, target_batches(n=2))  # with the progress bar
    assert '2/2' in shown.getvalue()
    assert [bn.momentum for bn in layers] == momenta == [0.3] + [0.1] * (len(layers) - 1)
    assert not model.training and not any(m.training for m in model.modules())
    for k, v in model.named_parameters():
        assert torch.equal(v, params[k]), k
        assert v.grad is None
    model.train()
    adapt_bn_statistics(model, target_batches(n=1), show_progress=False)
    assert model.training


def test_momentum_and_mode_restored_when_the_loader_fails():

    class BrokenLoader:

        def __len__(self):
            return 2

        def __iter__(self):
            yield target_batches(n=1)[0]
            raise RuntimeError('loader broke')

    model = segmentor().eval()
    with pytest.raises(RuntimeError, match='loader broke'):
        adapt_bn_statistics(model, BrokenLoader(), show_progress=False)
    assert all(bn.momentum == 0.1 for bn in batch_norm_layers(model))
    assert not model.training


def test_model_without_bn_raises():

    class NoBN(nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.norm = nn.GroupNorm(1, 3)

    with pytest.raises(ValueError, match='NoBN has no BatchNorm layer'):
        adapt_bn_statistics(NoBN(), [], show_progress=False)


def test_empty_dataloader_raises():
    model = segmentor()
    with pytest.raises(ValueError, match='yielded no batch'):
        adapt_bn_statistics(model, [], show_progress=False)
    assert all(bn.momentum == 0.1 for bn in batch_norm_layers(model))


def test_batch_norm_layers_finds_every_dimension():
    model = nn.Sequential(nn.BatchNorm1d(2), nn.Sequential(nn.BatchNorm2d(3)),
                          nn.SyncBatchNorm(4), nn.GroupNorm(1, 2), nn.LayerNorm(2))
    assert [type(m) for m in batch_norm_layers(model)] == [
        nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm]


def test_frozen_source_copy_keeps_its_statistics(tmp_path):
    source = segmentor()
    adapt_bn_statistics(source, target_batches(n=1, seed=5), show_progress=False)
    path = tmp_path / 'source.pth'
    torch.save(dict(state_dict=source.state_dict()), path)
    model = MODELS.build(dict(type='DomainAdaptiveSegmentor', segmentor=source_cfg(),
                              source_checkpoint=str(path), with_source_model=True))
    model.init_weights()
    frozen = {k: v.clone() for k, v in model.source_model.state_dict().items()}
    adapt_bn_statistics(model, target_batches(), show_progress=False)
    # the adapted segmentor moved ...
    assert not torch.equal(model.segmentor.backbone.stem[1].running_mean,
                           frozen['backbone.stem.1.running_mean'])
    # ... the frozen source copy did not
    for key, value in model.source_model.state_dict().items():
        assert torch.equal(value, frozen[key]), key
