"""mmseg's Python inference API on our configs: ``init_model`` (which passes
``pretrained=None, train_cfg=None`` to every model), ``inference_model`` (which reads the
top-level ``test_pipeline``) and ``MMSegInferencer``."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg_sfda  # noqa: F401
from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.datasets import CityscapesDataset
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H, W = 32, 64
CONFIGS = {
    'plain': 'configs/toy/deeplabv3_r18_toy-gta5_source.py',
    'sfda': 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py',
    'sim': 'configs/toy/sim-step1_deeplabv3_r18_toy-gta2cs.py',  # AdaptSegNet's subclass
}


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """(path, BGR array) of one 32x64 image."""
    img = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    path = str(tmp_path_factory.mktemp('img') / 'x_leftImg8bit.png')
    cv2.imwrite(path, img)
    return path, img


def checkpoint(config: str, folder) -> str:
    """Weights of the config's model (the source checkpoint it names is not read) with
    the dataset meta a runner's checkpoint carries."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(REPO, config)).model)
    path = str(folder / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(CityscapesDataset.METAINFO))), path)
    return path


@pytest.mark.parametrize('name', list(CONFIGS))
def test_init_model_inference_model_and_inferencer(name, image, tmp_path):
    config = osp.join(REPO, CONFIGS[name])
    ckpt = checkpoint(config, tmp_path)
    path, img = image
    model = init_model(config, ckpt, device='cpu')
    for item in (path, img):
        result = inference_model(model, item)
        assert tuple(result.pred_sem_seg.shape) == (H, W)
    inferencer = MMSegInferencer(model=config, weights=ckpt, device='cpu')
    prediction = inferencer(path, show=False)['predictions']
    np.testing.assert_array_equal(prediction, result.pred_sem_seg.data[0].numpy())


def test_wrapper_level_pretrained_names_the_segmentor_key():
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, CONFIGS['sim'])).model
    cfg.pretrained = 'open-mmlab://resnet101_v1c'
    with pytest.raises(ValueError, match=r'SIMSegmentor: pretrained=.*model\.segmentor\.'
                       'pretrained'):
        MODELS.build(cfg)


CONFIG_FILES = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                           recursive=True) if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIG_FILES, ids=[osp.relpath(p, REPO)
                                                    for p in CONFIG_FILES])
def test_every_config_has_a_top_level_test_pipeline(path):
    cfg = Config.fromfile(path)
    assert 'test_pipeline' in cfg
    assert cfg.test_pipeline[0]['type'] == 'LoadImageFromFile'
    assert cfg.test_pipeline[-1]['type'] == 'PackSegInputs'
