"""toy_config: data roots moved, and a shortened run keeps its schedule's shape."""
import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis import toy_config


def test_shortened_run_rescales_every_iteration_scheduler():
    cfg = toy_config('configs/toy/pixintrada_deeplabv3_r18_toy-gta2cs.py', '/tmp/toy',
                     {'train_cfg.max_iters': 30})
    assert cfg.train_cfg.max_iters == 30
    for name in ('segmentor', 'discriminator'):
        (poly, ) = cfg.param_scheduler[name]
        assert (poly['begin'], poly['end']) == (0, 30)
    assert 'data/toy' not in str(cfg.train_dataloader) and '/tmp/toy' in str(
        cfg.train_dataloader)


def test_scheduler_list_and_unchanged_length():
    cfg = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', '/tmp/toy',
                     {'train_cfg.max_iters': 120})
    assert cfg.param_scheduler[0]['end'] == 120
    same = toy_config('configs/toy/deeplabv3_r18_toy-gta5_source.py', '/tmp/toy')
    assert same.param_scheduler[0]['end'] == same.train_cfg.max_iters == 300
