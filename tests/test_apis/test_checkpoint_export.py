"""export_segmentor: the adapted segmentor of a run as a plain mmseg checkpoint."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg_sfda.apis.checkpoint_export import export_segmentor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
from tiny_models import tiny_segmentor_cfg  # noqa: E402

H, W = 32, 64


@pytest.fixture(autouse=True)
def _scope(mmseg_scope):
    yield


def seg_cfg():
    """A very small EncoderDecoder, as a stock mmseg config would give it."""
    return tiny_segmentor_cfg((H, W))


def randomize(module, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for name, b in module.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(torch.randn_like(b))


@pytest.fixture
def run_checkpoint(tmp_path):
    """(path of a DomainAdaptiveSegmentor checkpoint as mmengine writes it, the model).

    The adapted segmentor differs from the frozen source copy saved beside it.
    """
    source = MODELS.build(seg_cfg())
    randomize(source, 0)
    source_path = tmp_path / 'source.pth'
    torch.save(dict(state_dict=source.state_dict()), source_path)
    model = MODELS.build(dict(type='DomainAdaptiveSegmentor', segmentor=seg_cfg(),
                              source_checkpoint=str(source_path), with_source_model=True))
    model.init_weights()
    randomize(model.segmentor, 1)  # "adaptation"
    path = tmp_path / 'run' / 'iter_100.pth'
    path.parent.mkdir()
    torch.save(dict(
        meta=dict(iter=100, epoch=0, seed=3, mmengine_version='0.10.7', cfg='model = ...',
                  experiment_name='x', dataset_meta=dict(classes=('a', 'b', 'c', 'd'))),
        state_dict=model.state_dict(),
        message_hub=dict(log_scalars={}),
        optimizer=dict(state={}, param_groups=[])), path)
    return str(path), model.eval()


def test_exported_weights_load_into_a_stock_segmentor(run_checkpoint, tmp_path):
    src, model = run_checkpoint
    dst = str(tmp_path / 'export' / 'nested' / 'adapted.pth')  # folders are created
    n = export_segmentor(src, dst)
    assert n == len(model.segmentor.state_dict())
    saved = torch.load(dst)
    assert set(saved) == {'state_dict', 'meta'}
    assert set(saved['state_dict']) == set(model.segmentor.state_dict())
    assert saved['meta'] == dict(iter=100, epoch=0, seed=3, mmengine_version='0.10.7',
                                 dataset_meta=dict(classes=('a', 'b', 'c', 'd')),
                                 exported_from=osp.abspath(src))

    stock = MODELS.build(seg_cfg())
    assert type(stock) is EncoderDecoder
    load_checkpoint(stock, dst, map_location='cpu', strict=True)
    stock.eval()
    for key, value in model.segmentor.state_dict().items():
        assert torch.equal(stock.state_dict()[key], value), key
    # the adapted weights, not those of the frozen source copy
    assert not torch.equal(stock.decode_head.conv_seg.weight,
                           model.source_model.decode_head.conv_seg.weight)
    inputs = torch.randn(2, 3, H, W)
    with torch.no_grad():
        ours, theirs = model.predict(inputs), stock.predict(inputs)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_plain_checkpoint_raises_key_error(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=MODELS.build(seg_cfg()).state_dict()), path)
    with pytest.raises(KeyError, match=r'has no segmentor\.\* weights'):
        export_segmentor(str(path), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


def test_missing_source_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        export_segmentor(str(tmp_path / 'nothing.pth'), str(tmp_path / 'out.pth'))


def test_atomic_write_leaves_no_temp_file(run_checkpoint, tmp_path):
    src, _ = run_checkpoint
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    dst = out_dir / 'adapted.pth'
    dst.write_bytes(b'old')
    export_segmentor(src, str(dst))  # overwrites an existing file
    assert os.listdir(out_dir) == ['adapted.pth']
    assert 'state_dict' in torch.load(dst)


def _failing_save(obj, f, *args, **kwargs):
    with open(f, 'wb') as fh:
        fh.write(b'partial')
    raise OSError(28, 'No space left on device')


def test_failed_write_keeps_the_old_file(run_checkpoint, tmp_path, monkeypatch):
    src, _ = run_checkpoint
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    dst = out_dir / 'adapted.pth'
    dst.write_bytes(b'old')
    monkeypatch.setattr(torch, 'save', _failing_save)
    with pytest.raises(OSError, match='No space left'):
        export_segmentor(src, str(dst))
    assert dst.read_bytes() == b'old'


def test_failed_write_leaves_no_temp_file(run_checkpoint, tmp_path, monkeypatch):
    src, _ = run_checkpoint
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    monkeypatch.setattr(torch, 'save', _failing_save)
    with pytest.raises(OSError):
        export_segmentor(src, str(out_dir / 'adapted.pth'))
    assert os.listdir(out_dir) == []


def test_tool_runs(run_checkpoint, tmp_path):
    src, model = run_checkpoint
    dst = str(tmp_path / 'tool_out.pth')
    result = subprocess.run(
        [sys.executable, osp.join('tools', 'export_segmentor.py'), src, dst],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    n = len(model.segmentor.state_dict())
    assert f'wrote {n} tensors of the segmentor to {dst}' in result.stdout
    stock = MODELS.build(seg_cfg())
    load_checkpoint(stock, dst, map_location='cpu', strict=True)
    assert torch.equal(stock.decode_head.conv_seg.weight,
                       model.segmentor.decode_head.conv_seg.weight)
