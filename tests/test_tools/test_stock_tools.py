"""mmseg's own tools (installed with its pip package under ``mmseg/.mim/tools``) and its
Python API on every method's toy checkpoint and on its export (docs/mixing.md).

A method's checkpoint goes with the method's config (the wrapper is built, its
``predict`` is the segmentor's); the export (``tools/export_segmentor.py``) goes with the
plain config the segmentor came from (here the toy source config).

Every method's checkpoint goes through mmseg's ``test.py --out --show-dir`` and the
Python API, and every export through the Python API (same masks as the checkpoint). What
does not depend on the method runs for one of them (``FULL_TOOLS``), to keep the suite's
time: ``confusion_matrix.py`` reads written prediction files, ``print_config.py`` a
config, and an export is a plain EncoderDecoder checkpoint whatever method made it."""
import glob
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmseg
import mmseg_sfda  # noqa: F401
from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.registry import MODELS
from mmseg_sfda.apis import prepare_toy_data, toy_config
from mmseg_sfda.apis.checkpoint_export import export_segmentor
from toy_runs import short

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMSEG_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')
OURS_TEST = osp.join(REPO, 'tools', 'test.py')
SOURCE_CONFIG = 'configs/toy/deeplabv3_r18_toy-gta5_source.py'
H, W = 32, 64
NUM_VAL = 2
#: one toy config per method family
METHODS = {
    'sfda': 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py',
    'cbst': 'configs/toy/cbst_deeplabv3_r18_toy-gta2cs.py',
    'das3': 'configs/toy/das3-a_deeplabv3_r18_toy-gta2cs.py',
    'adaptsegnet': 'configs/toy/adaptsegnet_deeplabv3_r18_toy-gta2cs.py',
    'sim': 'configs/toy/sim-step1_deeplabv3_r18_toy-gta2cs.py',
    'pixintrada': 'configs/toy/pixintrada_deeplabv3_r18_toy-gta2cs.py',
}
FULL_TOOLS = 'sfda'  # the method whose checkpoint and export go through every tool
SFDA_OPTIONS = {'model.generator.out_size': (16, 32), 'model.discriminator.num_convs': 3}


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    """A folder whose ``data/toy`` holds the tiny toy domains: the tools run in it, so
    the configs' own data roots are used (mmseg's visualization hook reads
    ``runner.iter``, which builds the train loop: --show-dir needs the train data)."""
    cwd = tmp_path_factory.mktemp('cwd')
    (cwd / 'data').mkdir()
    root = str(cwd / 'data' / 'toy')
    prepare_toy_data(root, seed=0, height=H, width=W, num_source=4,
                     num_target_train=4, num_target_val=NUM_VAL,
                     layouts=('gta5', 'cityscapes'))
    return root


@pytest.fixture(scope='module')
def source_checkpoint(tmp_path_factory):
    """The toy source model's initialisation as a plain mmseg checkpoint."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(REPO, SOURCE_CONFIG)).model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('source') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


LOADER = ['--cfg-options', 'test_dataloader.batch_size=1',
          'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def run(args, toy_root: str) -> str:
    """A tool as a user runs it, in the folder holding ``data/toy``."""
    cwd = osp.dirname(osp.dirname(toy_root))
    result = subprocess.run([sys.executable] + [str(a) for a in args], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (args, result.stderr[-3000:])
    return result.stdout + result.stderr


def pngs(folder: str) -> list:
    return sorted(glob.glob(osp.join(folder, '**', '*.png'), recursive=True))


def check_test_tool(tool: str, config: str, ckpt: str, toy_root: str, work,
                    options: tuple = (), confusion: bool = True) -> None:
    """``tools/test.py --out --show-dir`` (ours or mmseg's), then mmseg's
    ``confusion_matrix.py`` on the written predictions."""
    out, show = str(work / 'out'), str(work / 'show')
    log = run([tool, config, ckpt, '--work-dir', work / 'work', '--out', out,
               '--show-dir', show] + LOADER + list(options), toy_root)
    assert re.search(r'mIoU: [\d.]+', log), log[-2000:]
    assert len(pngs(out)) == NUM_VAL
    assert len(pngs(show)) == NUM_VAL  # every image drawn (visualization interval 1)
    if not confusion:
        return
    run([osp.join(MMSEG_TOOLS, 'analysis_tools', 'confusion_matrix.py'), config, out,
         work / 'cm'], toy_root)
    assert osp.isfile(work / 'cm' / 'confusion_matrix.png')


@pytest.mark.slow  # two tool subprocesses
def test_out_and_show_dir_on_a_toy_config(toy_root, source_checkpoint, tmp_path):
    """Our tools/test.py: --out (SubsetIoUMetric writes the predictions) and --show-dir
    (a picture of each of the small val set's images) with a plain toy config; mmseg's
    own test.py does the same on every method below."""
    check_test_tool(OURS_TEST, osp.join(REPO, SOURCE_CONFIG), source_checkpoint,
                    toy_root, tmp_path)


def python_api(config, ckpt: str, image: str) -> np.ndarray:
    """``init_model`` + ``inference_model`` and ``MMSegInferencer`` agree; their mask."""
    model = init_model(config, ckpt, device='cpu')
    pred = inference_model(model, image).pred_sem_seg.data[0].numpy()
    inferred = MMSegInferencer(model=config, weights=ckpt, device='cpu')(image)
    np.testing.assert_array_equal(inferred['predictions'], pred)
    return pred


@pytest.mark.slow
@pytest.mark.parametrize('method', list(METHODS))
def test_stock_tools_on_method_checkpoint_and_export(method, toy_root, source_checkpoint,
                                                     tmp_path):
    config = osp.join(REPO, METHODS[method])
    options = dict(short(2), **{'model.source_checkpoint': source_checkpoint,
                                'train_dataloader.batch_size': 2})
    if method == 'sfda':
        options.update(SFDA_OPTIONS)
    cfg = toy_config(config, toy_root, options)
    cfg.work_dir = str(tmp_path / 'train')
    init_default_scope('mmseg')
    Runner.from_cfg(cfg).train()
    ckpt = osp.join(cfg.work_dir, 'iter_2.pth')
    export = str(tmp_path / 'export.pth')
    export_segmentor(ckpt, export)
    # the SFDA checkpoint's discriminator is the one of SFDA_OPTIONS
    cli = [f'{k}={v}' for k, v in SFDA_OPTIONS.items()] if method == 'sfda' else []

    # the method's checkpoint with its config
    full = method == FULL_TOOLS
    check_test_tool(osp.join(MMSEG_TOOLS, 'test.py'), config, ckpt, toy_root,
                    tmp_path / 'ckpt', cli, confusion=full)
    plain = osp.join(REPO, SOURCE_CONFIG)
    if full:
        log = run([osp.join(MMSEG_TOOLS, 'misc', 'print_config.py'), config] +
                  (['--cfg-options'] + cli if cli else []), toy_root)
        assert re.search(r"type='\w+Segmentor'", log), log[-2000:]
        # the export with the plain config of its segmentor
        check_test_tool(osp.join(MMSEG_TOOLS, 'test.py'), plain, export, toy_root,
                        tmp_path / 'export')

    image = sorted(glob.glob(osp.join(toy_root, 'cityscapes', 'leftImg8bit', 'val', '*',
                                      '*.png')))[0]
    if cli:
        config = Config.fromfile(config)
        config.merge_from_dict(SFDA_OPTIONS)
    ours = python_api(config, ckpt, image)
    exported = python_api(plain, export, image)
    np.testing.assert_array_equal(ours, exported)  # the export predicts the same masks
