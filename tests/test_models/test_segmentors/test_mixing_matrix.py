"""The mixing matrix (docs/mixing.md): every method family around stock mmseg 1.2.2
architectures taken from mmseg's own configs by ``mmseg::`` inheritance.

The architectures are shrunk for the CPU (ResNet-18 with 4 base channels, MiT-B0 with
8-d embeddings and one layer per stage, 19 classes) and keep mmseg's SyncBN: a
single-process run reverts it to BN, as a user's would. A cell takes the method's toy
config, puts the architecture in as ``model.segmentor`` (its source checkpoint: the
architecture's random initialisation), trains 2 iterations of batch 2 on 32x64 toy images,
evaluates, exports the segmentor (``export_segmentor``, what tools/export_segmentor.py
runs) and requires a stock ``EncoderDecoder`` loaded from the export to predict the same
masks as the trained wrapper. Where the architecture lacks what the method declares it
needs (``requirements``), building must fail with that requirement's error and its fix.
"""
import os.path as osp
import time
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from mmseg_sfda.apis import prepare_toy_data, toy_config
from mmseg_sfda.apis.checkpoint_export import export_segmentor
from toy_runs import short

H, W = 32, 64
R18 = dict(pretrained=None, backbone=dict(depth=18, stem_channels=8, base_channels=4))
MIT = dict(pretrained=None, backbone=dict(embed_dims=8, num_layers=[1, 1, 1, 1]),
           decode_head=dict(in_channels=[8, 16, 40, 64], channels=16))
AUX = dict(auxiliary_head=dict(in_channels=16, channels=8))
#: name -> (mmseg base config, overrides shrinking it)
ARCHS = {
    'pspnet_r18': ('pspnet_r50-d8.py', dict(
        R18, decode_head=dict(in_channels=32, channels=8), **AUX)),
    'deeplabv3plus_r18': ('deeplabv3plus_r50-d8.py', dict(
        R18, decode_head=dict(in_channels=32, channels=8, c1_in_channels=4,
                              c1_channels=4), **AUX)),
    'fcn_r18': ('fcn_r50-d8.py', dict(
        R18, decode_head=dict(in_channels=32, channels=8), **AUX)),
    'segformer_mit-b0': ('segformer_mit-b0.py', MIT),  # LayerNorm; BN in the head only
    'segformer_mit-b0_gn-head': ('segformer_mit-b0.py', dict(  # LayerNorm + GroupNorm
        MIT, decode_head=dict(MIT['decode_head'],
                              norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)))),
}
#: column -> (toy config, cfg options)
METHODS = {
    'sfda': ('sfda_deeplabv3_r18_toy-gta2cs.py', {
        'model.generator.out_size': (H, W), 'model.discriminator.num_convs': 3}),
    'cbst': ('cbst_deeplabv3_r18_toy-gta2cs.py', {}),
    'das3-a': ('das3-a_deeplabv3_r18_toy-gta2cs.py', {}),
    'adaptsegnet': ('adaptsegnet_deeplabv3_r18_toy-gta2cs.py', {}),
    'advent-multilevel': ('advent_deeplabv3_r18_toy-gta2cs.py', {
        'model.discriminator_aux': dict(type='FCDiscriminator', num_classes=19, ndf=64)}),
    'sim-head': ('sim-step1_deeplabv3_r18_toy-gta2cs.py', {}),
    'sim-backbone': ('sim-step1_deeplabv3_r18_toy-gta2cs.py', {
        'model.feature_source': 'backbone'}),
    'pixintrada': ('pixintrada_deeplabv3_r18_toy-gta2cs.py', {}),
}
#: (method, architecture) -> the requirement whose error building must raise
UNMET = {
    ('sfda', 'segformer_mit-b0_gn-head'): 'batch_norm',
    ('advent-multilevel', 'segformer_mit-b0'): 'auxiliary_head',
    ('advent-multilevel', 'segformer_mit-b0_gn-head'): 'auxiliary_head',
    ('sim-backbone', 'deeplabv3plus_r18'): 'classifier_on_features',
    ('sim-backbone', 'segformer_mit-b0'): 'classifier_on_features',
    ('sim-backbone', 'segformer_mit-b0_gn-head'): 'classifier_on_features',
}
#: (method, architecture) whose build warns (BNS on BN in the head only)
WARNS = {('sfda', 'segformer_mit-b0'): 'BatchNorm layers only'}


def arch_model(name: str, tmp_dir: str) -> Config:
    """``model`` of a config inheriting mmseg's own model config, shrunk."""
    base, overrides = ARCHS[name]
    path = osp.join(tmp_dir, f'{name}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['mmseg::_base_/models/{base}']\n"
                f"model = {overrides!r}\n"
                f"model['data_preprocessor'] = dict(size={(H, W)!r})\n")
    return Config.fromfile(path).model


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    prepare_toy_data(root, seed=0, height=H, width=W, num_source=4,
                     num_target_train=4, num_target_val=2,
                     layouts=('gta5', 'cityscapes'))
    return root


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    """name -> (segmentor config, plain mmseg checkpoint of its initialisation)."""
    init_default_scope('mmseg')
    folder = str(tmp_path_factory.mktemp('archs'))
    out = {}
    for name in ARCHS:
        model_cfg = arch_model(name, folder)
        torch.manual_seed(0)
        segmentor = MODELS.build(model_cfg)
        segmentor.init_weights()
        path = osp.join(folder, f'{name}.pth')
        torch.save(dict(state_dict=segmentor.state_dict(), meta=dict()), path)
        out[name] = (model_cfg, path)
    return out


def cell_config(method: str, arch: str, sources, toy_root: str, work_dir: str) -> Config:
    config, options = METHODS[method]
    model_cfg, source = sources[arch]
    options = dict(options)
    aux = options.pop('model.discriminator_aux', None)
    cfg = toy_config(osp.join('configs', 'toy', config), toy_root, dict(short(2), **{
        'train_dataloader.batch_size': 2, 'val_dataloader.batch_size': 2,
        'model.source_checkpoint': source}, **options))
    cfg.model.segmentor = model_cfg
    cfg.test_dataloader = cfg.val_dataloader
    if aux is not None:  # multi-level: D_aux and its optimizer
        cfg.model.discriminator_aux = aux
        cfg.optim_wrapper.discriminator_aux = cfg.optim_wrapper.discriminator
        cfg.param_scheduler.discriminator_aux = cfg.param_scheduler.discriminator
    cfg.work_dir = work_dir
    return cfg


def predictions(model, inputs):
    with torch.no_grad():
        return torch.stack([s.pred_sem_seg.data for s in model.predict(inputs)])


CELLS = [(m, a) for m in METHODS for a in ARCHS]


@pytest.mark.slow
@pytest.mark.parametrize('method, arch', CELLS, ids=[f'{m}-{a}' for m, a in CELLS])
def test_cell(method, arch, sources, toy_root, tmp_path):
    start = time.perf_counter()
    init_default_scope('mmseg')
    cfg = cell_config(method, arch, sources, toy_root, str(tmp_path / 'work'))
    requirement = UNMET.get((method, arch))
    if requirement is not None:
        with pytest.raises(ValueError, match=rf'needs .*\[{requirement}\].*Fix: '):
            Runner.from_cfg(cfg)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner = Runner.from_cfg(cfg)
    expected = WARNS.get((method, arch))
    bns_warnings = [str(w.message) for w in caught if 'BNS' in str(w.message)]
    assert bool(bns_warnings) == bool(expected), bns_warnings
    runner.train()
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
    model = runner.model
    if method == 'sfda':  # hooks on the BN layers that replaced SyncBN
        assert model.loss_bns.is_attached_to(model.source_model)
        assert model.loss_bns.num_hooked_layers > 0

    export = str(tmp_path / 'export.pth')
    export_segmentor(osp.join(cfg.work_dir, 'iter_2.pth'), export)
    stock = revert_sync_batchnorm(MODELS.build(sources[arch][0]))
    assert type(stock).__name__ == 'EncoderDecoder'
    load_checkpoint(stock, export, map_location='cpu', strict=True)
    model.eval()
    stock.eval()
    inputs = torch.randn(2, 3, H, W, generator=torch.Generator().manual_seed(0))
    assert torch.equal(predictions(stock, inputs), predictions(model, inputs))
    print(f'{method} x {arch}: {time.perf_counter() - start:.1f} s')


@pytest.mark.slow  # the module's fixtures (toy data, five architectures) take ~25 s
def test_fake_images_too_small_for_the_source_model_name_the_fix(sources, toy_root,
                                                                  tmp_path):
    """SegFormer's spatial reduction needs images of at least 32 pixels: 16x32 fakes
    fail at the first step with the generator setting to change."""
    init_default_scope('mmseg')
    cfg = cell_config('sfda', 'segformer_mit-b0', sources, toy_root, str(tmp_path))
    cfg.model.generator.out_size = (16, 32)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match=r'generator.out_size=\(16, 32\).*Fix: a larger'):
        runner.train()


def test_docs_list_every_declared_requirement():
    """docs/mixing.md has a row per (method, declared requirement)."""
    from mmseg_sfda.models import segmentors
    with open(osp.join(osp.dirname(__file__), '..', '..', '..', 'docs', 'mixing.md')) as f:
        text = f.read()
    declared = [(name, r.name) for name in segmentors.__all__
                for r in getattr(segmentors, name).requirements]
    assert len(declared) >= 8
    missing = [d for d in declared if f'| {d[0]} | `{d[1]}` |' not in text]
    assert not missing, missing
