"""The toy data and configs shared by the bad-input suite (made once per test run, shared
by pytest-xdist's workers: toy_runs.run_once; tests copy what they break)."""
import contextlib
import io
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from bad_input_utils import NO_WORKERS, SIZE, TINY_MODEL, Toy, run, short, tool, write_config
from toy_runs import run_once


@pytest.fixture(scope='session')
def toy(tmp_path_factory) -> Toy:
    """Toy GTA5 (4 images, converted labels) and Cityscapes (4 train, 2 val) at 32x64,
    tiny source / SFDA configs on them, a source checkpoint and a 1-iteration SFDA run."""
    t = Toy(run_once(tmp_path_factory, 'bad_inputs', make_toy))
    t.sfda_ckpt = osp.join(t.sfda_work_dir, 'iter_1.pth')
    assert osp.isfile(t.sfda_ckpt)
    return t


def make_toy(root: str) -> str:
    t = Toy(root)
    with contextlib.redirect_stdout(io.StringIO()):
        assert tool('make_toy_domains.py').main([
            '--out', osp.join(root, 'data'), '--height', str(SIZE[0]), '--width',
            str(SIZE[1]), '--num-source', '4', '--num-target-train', '4',
            '--num-target-val', '2', '--layouts', 'gta5', 'cityscapes', '--nproc', '1'
        ]) == 0
        assert tool('dataset_converters/gta5.py').main([t.gta5, '--nproc', '1']) == 0
    val = dict(batch_size=1, **NO_WORKERS, dataset=dict(data_root=t.cityscapes))
    write_config(
        t.source_cfg, 'configs/toy/deeplabv3_r18_toy-gta5_source.py', model=TINY_MODEL,
        train_dataloader=dict(batch_size=2, **NO_WORKERS, dataset=dict(data_root=t.gta5)),
        val_dataloader=val, test_dataloader=val, **short())
    write_config(
        t.sfda_cfg, 'configs/toy/sfda_deeplabv3_r18_toy-gta2cs.py',
        model=dict(segmentor=TINY_MODEL, source_checkpoint=t.source_ckpt,
                   generator=dict(latent_dim=16, out_size=(16, 32)),
                   discriminator=dict(embed_dim=16, num_patches=4), num_patches=2),
        train_dataloader=dict(batch_size=2, **NO_WORKERS,
                              dataset=dict(data_root=t.cityscapes)),
        val_dataloader=val, test_dataloader=val, **short())
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(t.source_cfg).model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), t.source_ckpt)
    run('train.py', t.sfda_cfg, '--work-dir', t.sfda_work_dir)
    return root
