"""tools/train.py: the headline command names every missing input before building."""
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_headline_names_missing_data_and_source_checkpoint(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         osp.join(REPO, 'configs', 'sfda', 'deeplabv3_r50_gta2cs.py')],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    err = result.stderr
    assert 'Traceback' not in err
    assert 'model.source_checkpoint: work_dirs/deeplabv3_r50_gta5-512x256_40k/' \
        'iter_40000.pth' in err
    assert 'train_dataloader.dataset.data_root: data/cityscapes' in err
    assert 'configs/source_only/' in err and 'dataset_preparation.md' in err
