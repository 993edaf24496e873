"""DomainPairDataPreProcessor: each domain of a pair batch normalised on its own."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sfda.models.data_preprocessors import DomainPairDataPreProcessor

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
CFG = dict(mean=MEAN, std=STD, bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
           size_divisor=4)


def bgr_image(h, w, bgr):
    """A uint8 CHW image in BGR channel order (as LoadImageFromFile gives)."""
    img = torch.zeros(3, h, w, dtype=torch.uint8)
    for c, v in enumerate(bgr):
        img[c] = v
    return img


def item(h, w, bgr, label=None):
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    if label is not None:
        sample.gt_sem_seg = PixelData(data=torch.full((1, h, w), label, dtype=torch.uint8))
    return dict(inputs=bgr_image(h, w, bgr), data_samples=sample)


def pair_batch():
    """Two source items (4x8 and 4x6, labelled) and one unlabelled 6x10 target item."""
    items = [
        dict(source=item(4, 8, (10, 20, 30), label=3), target=item(6, 10, (200, 100, 50))),
        dict(source=item(4, 6, (0, 0, 0), label=5), target=item(6, 10, (0, 0, 0))),
    ]
    return pseudo_collate(items)


def normalised(bgr):
    """(x - mean) / std of one pixel after BGR -> RGB, by hand."""
    rgb = bgr[::-1]
    return torch.tensor([(rgb[c] - MEAN[c]) / STD[c] for c in range(3)])


def test_pair_batch_becomes_two_normalised_domains():
    pre = DomainPairDataPreProcessor(**CFG)
    out = pre(pair_batch(), training=True)
    assert set(out) == {'source', 'target'}
    src, tgt = out['source'], out['target']
    assert set(src) == {'inputs', 'data_samples'} and set(tgt) == {'inputs', 'data_samples'}
    # each domain is padded to its own largest image (rounded up to 4)
    assert tuple(src['inputs'].shape) == (2, 3, 4, 8)
    assert tuple(tgt['inputs'].shape) == (2, 3, 8, 12)
    # B, G, R = 10, 20, 30 -> R, G, B = 30, 20, 10 -> ((30 - 123.675) / 58.395, ...)
    expected = torch.tensor([(30 - 123.675) / 58.395, (20 - 116.28) / 57.12,
                             (10 - 103.53) / 57.375])
    torch.testing.assert_close(src['inputs'][0, :, 2, 5], expected)
    torch.testing.assert_close(src['inputs'][0, :, 2, 5], normalised((10, 20, 30)))
    torch.testing.assert_close(tgt['inputs'][0, :, 5, 9], normalised((200, 100, 50)))
    # padding is pad_val after normalisation; the padded label is seg_pad_val
    assert torch.all(src['inputs'][1, :, :, 6:] == 0)
    assert torch.all(tgt['inputs'][0, :, 6:, :] == 0)
    gt = src['data_samples'][1].gt_sem_seg.data
    assert tuple(gt.shape) == (1, 4, 8)
    assert torch.all(gt[:, :, :6] == 5) and torch.all(gt[:, :, 6:] == 255)
    # the target carries no label and keeps none
    assert all('gt_sem_seg' not in s for s in tgt['data_samples'])
    assert tgt['data_samples'][0].img_shape == (6, 10)


def test_pair_batch_in_test_mode_is_stacked_without_padding():
    pre = DomainPairDataPreProcessor(**CFG)
    items = [dict(source=item(4, 8, (1, 2, 3), label=0), target=item(6, 10, (4, 5, 6)))]
    out = pre(pseudo_collate(items), training=False)
    assert tuple(out['source']['inputs'].shape) == (1, 3, 4, 8)
    assert tuple(out['target']['inputs'].shape) == (1, 3, 6, 10)
    torch.testing.assert_close(out['target']['inputs'][0, :, 0, 0], normalised((4, 5, 6)))


@pytest.mark.parametrize('training', [True, False])
def test_plain_batch_is_processed_like_seg_data_preprocessor(training):
    ours = MODELS.build(dict(type='DomainPairDataPreProcessor', **CFG))
    assert isinstance(ours, DomainPairDataPreProcessor)
    stock = SegDataPreProcessor(**CFG)
    width = 6 if training else 8  # test mode stacks equal sizes only

    def batch():
        return pseudo_collate([item(4, 8, (10, 20, 30), 1), item(4, width, (7, 8, 9), 2)])

    got, want = ours(batch(), training), stock(batch(), training)
    assert set(got) == {'inputs', 'data_samples'}
    assert tuple(got['inputs'].shape) == (2, 3, 4, 8)
    torch.testing.assert_close(got['inputs'], want['inputs'])
    torch.testing.assert_close(got['inputs'][0, :, 0, 0], normalised((10, 20, 30)))
    for a, b in zip(got['data_samples'], want['data_samples']):
        assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)


@pytest.mark.parametrize('present', ['source', 'target'])
def test_missing_domain_raises_key_error(present):
    missing = 'target' if present == 'source' else 'source'
    batch = pair_batch()
    del batch[missing]
    pre = DomainPairDataPreProcessor(**CFG)
    with pytest.raises(KeyError, match=rf"no \['{missing}'\] entry \(keys: \['{present}'\]\)"):
        pre(batch, training=True)
