"""SFDASegmentor and the source model's BatchNorm: hooks that follow mmengine's SyncBN->BN
replacement, the build-time error without BN and the warning when BN is scarce."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.nn import SyncBatchNorm

import mmseg_sfda  # noqa: F401
from mmseg.registry import MODELS
from runner_utils import write_cityscapes_images

H, W = 32, 64
SFDA_CFG = 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py'


def sfda_cfg(tmp_path, backbone_norm: dict, head_norm: dict) -> Config:
    """The toy SFDA config at 32x64 around the toy DeepLabV3-R18 with the given norms,
    and a source checkpoint of that segmentor."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(SFDA_CFG)
    seg = cfg.model.segmentor
    seg.backbone.norm_cfg = backbone_norm
    seg.decode_head.norm_cfg = head_norm
    seg.data_preprocessor.size = (H, W)
    cfg.model.generator.out_size = (16, 32)
    cfg.model.discriminator.num_convs = 3  # 8x16 patches at K=4
    torch.manual_seed(0)
    source = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=MODELS.build(seg).state_dict()), source)
    cfg.model.source_checkpoint = source
    return cfg


SYNC_BN = dict(type='SyncBN', requires_grad=True)


def test_bns_hooks_follow_sync_bn_reverted_by_the_runner(tmp_path):
    """mmengine replaces SyncBN by new BN modules for a single-process run after the
    model is built; hooks attached at build would be left on the old modules ('no
    statistics recorded'). Two iterations through the runner on a SyncBN model."""
    cfg = sfda_cfg(tmp_path, SYNC_BN, SYNC_BN)
    root = write_cityscapes_images(str(tmp_path / 'cs'), 2, H, W)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = root
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    assert any(isinstance(m, SyncBatchNorm)
               for m in MODELS.build(cfg.model).source_model.modules())
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert not any(isinstance(m, SyncBatchNorm) for m in model.modules())
    runner.train()
    num_bn = len(model.loss_bns.batch_norm_layers(model.source_model))
    assert num_bn > 20
    assert model.loss_bns.num_hooked_layers == num_bn
    assert model.loss_bns.is_attached_to(model.source_model)
    loss_bns = runner.message_hub.get_scalar('train/gen.loss_bns').current()
    assert loss_bns > 0 and torch.isfinite(torch.tensor(loss_bns))


def test_a_source_model_without_batch_norm_is_a_build_error(tmp_path):
    gn = dict(type='GN', num_groups=4, requires_grad=True)
    cfg = sfda_cfg(tmp_path, gn, gn)
    with pytest.raises(ValueError, match=r'SFDASegmentor needs BatchNorm.*\[batch_norm\]'
                       r'.*GroupNorm.*Fix: ') as err:
        MODELS.build(cfg.model)
    assert 'DAS3' in str(err.value)


def test_batch_norm_in_the_head_only_warns_with_the_counts(tmp_path):
    gn = dict(type='GN', num_groups=4, requires_grad=True)
    cfg = sfda_cfg(tmp_path, gn, dict(type='BN', requires_grad=True))
    with pytest.warns(UserWarning, match=r'through 6 BatchNorm layers only, of the source '
                      r"model's 28 normalisation layers .*the backbone has 0"):
        MODELS.build(cfg.model)


def test_feature_index_outside_the_backbone_outputs_is_a_build_error(tmp_path):
    cfg = sfda_cfg(tmp_path, SYNC_BN, SYNC_BN)
    cfg.model.feature_index = 4
    with pytest.raises(ValueError, match=r'\[feature_layer\].*feature_index=4 but '
                       'extract_feat returns 4 feature maps'):
        MODELS.build(cfg.model)
