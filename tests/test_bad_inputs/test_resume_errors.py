"""--resume without, with a truncated, or with another method's checkpoint; a
pseudo-label round deleted between rounds. Nothing in the work dir is changed."""
import os
import os.path as osp
import shutil

from bad_input_utils import NO_WORKERS, TINY_MODEL, fails, run, short, write_config


def _copy_run(toy, tmp_path) -> str:
    work_dir = str(tmp_path / 'run')
    shutil.copytree(toy.sfda_work_dir, work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'iter_1.pth'))
    return work_dir


def _snapshot(folder: str) -> dict:
    return {osp.join(d, f): os.path.getsize(osp.join(d, f))
            for d, _, files in os.walk(folder) for f in files}


def test_resume_without_a_checkpoint(toy, tmp_path):
    msg = fails('train.py', toy.source_cfg, '--work-dir', tmp_path / 'new', '--resume')
    assert f'--resume: no checkpoint to resume in {tmp_path}/new' in msg
    assert 'drop --resume' in msg


def test_resume_from_a_truncated_checkpoint(toy, tmp_path):
    work_dir = _copy_run(toy, tmp_path)
    ckpt = osp.join(work_dir, 'iter_1.pth')
    with open(ckpt, 'r+b') as f:
        f.truncate(os.path.getsize(ckpt) // 2)
    before = _snapshot(work_dir)
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', work_dir, '--resume')
    assert f'--resume: cannot load checkpoint {ckpt}' in msg and 'truncated' in msg
    assert 'last_checkpoint' in msg
    after = _snapshot(work_dir)
    assert all(after.get(k) == v for k, v in before.items())  # nothing lost


def test_resume_with_last_checkpoint_pointing_nowhere(toy, tmp_path):
    work_dir = str(tmp_path / 'run')
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write('/elsewhere/iter_9.pth')
    msg = fails('train.py', toy.sfda_cfg, '--work-dir', work_dir, '--resume')
    assert 'points at /elsewhere/iter_9.pth, which does not exist' in msg


def test_resume_another_methods_work_dir(toy, tmp_path):
    work_dir = _copy_run(toy, tmp_path)
    before = _snapshot(work_dir)
    msg = fails('train.py', toy.source_cfg, '--work-dir', work_dir, '--resume')
    assert f'{work_dir} holds a run of SFDASegmentor' in msg
    assert 'this config trains EncoderDecoder' in msg and 'own --work-dir' in msg
    after = _snapshot(work_dir)
    assert all(after.get(k) == v for k, v in before.items())


def test_pseudo_label_round_deleted_before_resume(toy, tmp_path):
    hook = dict(type='PseudoLabelHook', round_iters=1, max_rounds=2,
                policy=dict(type='class_portion', portion=0.5))
    val = dict(batch_size=1, **NO_WORKERS, dataset=dict(data_root=toy.cityscapes))
    cfg = write_config(
        str(tmp_path / 'cbst.py'), 'configs/toy/cbst_deeplabv3_r18_toy-gta2cs.py',
        model=dict(segmentor=TINY_MODEL, source_checkpoint=toy.source_ckpt),
        train_dataloader=dict(batch_size=2, **NO_WORKERS, dataset=dict(
            source=dict(data_root=toy.gta5), target=dict(data_root=toy.cityscapes))),
        val_dataloader=val, test_dataloader=val,
        custom_hooks=[hook, dict(type='BNStatsHook')], **short())
    work_dir = str(tmp_path / 'w')
    run('train.py', cfg, '--work-dir', work_dir)
    labels = osp.join(work_dir, 'pseudo_labels')
    assert osp.isdir(osp.join(labels, 'round_0'))
    shutil.rmtree(labels)
    msg = fails('train.py', cfg, '--work-dir', work_dir, '--resume', '--cfg-options',
                'train_cfg.max_iters=2')
    assert f'PseudoLabelHook: the checkpoint points at pseudo labels in {labels}/round_' \
        in msg
    assert 'missing or incomplete' in msg
