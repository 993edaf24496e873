import pytest
import torch

from mmseg_sfda.models.utils.instances import (classifier_agrees,
                                               correct_label_map,
                                               extract_instances,
                                               masked_mean_features)


def _areas(instances):
    return [(cls, int(mask.sum())) for cls, mask in instances]


def test_two_blobs_give_two_instances():
    label = torch.zeros(5, 6, dtype=torch.long)
    label[0:2, 0:2] = 11  # area 4
    label[3:5, 3:6] = 11  # area 6
    inst = extract_instances(label, [11])
    assert _areas(inst) == [(11, 6), (11, 4)]  # decreasing area
    big, small = inst[0][1], inst[1][1]
    assert big.dtype == torch.bool and big.shape == (5, 6)
    assert torch.equal(big, label.eq(11) & (torch.arange(5)[:, None] >= 3))
    assert torch.equal(small, label.eq(11) & (torch.arange(5)[:, None] < 2))


def test_diagonal_pixels_merge_at_8_connectivity_only():
    label = torch.zeros(3, 3, dtype=torch.long)
    label[0, 0] = label[1, 1] = label[2, 2] = 13
    assert _areas(extract_instances(label, [13])) == [(13, 3)]
    four = extract_instances(label, [13], connectivity=4)
    assert _areas(four) == [(13, 1)] * 3


def test_max_per_class_keeps_largest():
    label = torch.zeros(4, 9, dtype=torch.long)
    label[0, 0] = 12  # area 1
    label[0:2, 3:5] = 12  # area 4
    label[3, 7:9] = 12  # area 2
    label[3, 0:3] = 11  # other class, area 3
    inst = extract_instances(label, [12, 11], max_per_class=2)
    assert _areas(inst) == [(12, 4), (12, 2), (11, 3)]
    assert _areas(extract_instances(label, [12], max_per_class=None)) == [
        (12, 4), (12, 2), (12, 1)
    ]


def test_area_ties_keep_sim_order_not_opencv_order():
    """12 single pixels tie in area; z = 10 are kept. SIM's code sorts
    ``np.argsort(areas)[::-1]`` over skimage's raster-order labels: ties go
    last-in-raster-order first, so the two first in raster order are dropped.
    OpenCV's 8-connectivity labels follow its 2x2-block scan ((1, 0) before
    (0, 3)), which dropped (4, 5) and (4, 7) instead."""
    raster = [(0, 3), (0, 5), (0, 7), (1, 0), (2, 2), (2, 4), (2, 6), (3, 0),
              (4, 3), (4, 5), (4, 7), (5, 0)]  # no two 8-adjacent
    label = torch.zeros(6, 8, dtype=torch.long)
    for y, x in raster:
        label[y, x] = 11
    label[5, 6:8] = 12  # another class: its own ranking
    inst = extract_instances(label, [11, 12])
    pixels = [tuple(mask.nonzero()[0].tolist()) for _, mask in inst]
    assert pixels == raster[::-1][:10] + [(5, 6)]
    # area still comes first: a larger region placed first in raster order
    label[0, 3:5] = 11  # (0, 3)-(0, 5) merge: area 3, first pixel (0, 3)
    inst = extract_instances(label, [11], max_per_class=None)
    pixels = [tuple(mask.nonzero()[0].tolist()) for _, mask in inst]
    assert _areas(inst)[0] == (11, 3)
    assert pixels == [(0, 3)] + raster[:1:-1]


def test_ignore_and_stuff_produce_no_instances():
    label = torch.full((4, 4), 255, dtype=torch.long)
    label[:2] = 0  # stuff
    assert extract_instances(label, [11, 12]) == []
    label[3, 3] = 11
    inst = extract_instances(label, [11, 12])
    assert _areas(inst) == [(11, 1)]  # the ignore pixels around don't count


def test_extract_instances_errors():
    label = torch.zeros(3, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        extract_instances(label.float(), [1])
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        extract_instances(label[None], [1])
    with pytest.raises(ValueError, match='connectivity'):
        extract_instances(label, [1], connectivity=6)
    with pytest.raises(ValueError, match='max_per_class'):
        extract_instances(label, [1], max_per_class=0)
    with pytest.raises(ValueError, match='ignore_index'):
        extract_instances(label, [1, 255])
    with pytest.raises(ValueError, match='duplicates'):
        extract_instances(label, [1, 1])


def test_masked_mean_features_hand_values_and_grad():
    feat = torch.arange(8, dtype=torch.float).view(2, 2, 2).requires_grad_()
    # channel 0 = [[0, 1], [2, 3]], channel 1 = [[4, 5], [6, 7]]
    masks = torch.tensor([[[1, 0], [0, 1]], [[0, 1], [0, 0]]],
                         dtype=torch.bool)
    means = masked_mean_features(feat, masks)
    torch.testing.assert_close(means, torch.tensor([[1.5, 5.5], [1., 5.]]))
    means.sum().backward()
    torch.testing.assert_close(
        feat.grad,
        torch.tensor([[.5, 1.], [0., .5]]).expand(2, 2, 2))
    # a list of masks works as well
    torch.testing.assert_close(masked_mean_features(feat, list(masks)), means)


def test_masked_mean_features_resizes_and_skips_vanished():
    feat = torch.arange(4, dtype=torch.float).view(1, 2, 2)
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[0, :2, :2] = True  # -> feature pixel (0, 0)
    masks[1, 1, 1] = True  # not sampled by nearest 4x4 -> 2x2: vanishes
    masks[2, 2:, :] = True  # -> bottom row
    means, keep = masked_mean_features(feat, masks, return_keep=True)
    assert keep.tolist() == [True, False, True]
    torch.testing.assert_close(means, torch.tensor([[0.], [2.5]]))
    empty = masked_mean_features(feat, [])
    assert empty.shape == (0, 1)
    with pytest.raises(ValueError, match=r'\(C, h, w\)'):
        masked_mean_features(feat[None], masks)


def test_correct_label_map_resizes_and_intersects():
    label = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 255, 255],
                           [2, 2, 255, 255]]])
    small = correct_label_map(label, (2, 2))
    assert small.tolist() == [[[0, 1], [2, 255]]]
    pred = torch.tensor([[[0, 3], [2, 2]]])
    assert correct_label_map(label, (2, 2), pred).tolist() == [[[0, 255],
                                                               [2, 255]]]
    logits = torch.nn.functional.one_hot(pred, 4).permute(0, 3, 1, 2).float()
    assert torch.equal(correct_label_map(label, (2, 2), logits),
                       correct_label_map(label, (2, 2), pred))
    with pytest.raises(ValueError, match='pred'):
        correct_label_map(label, (2, 2), pred[0])


def test_classifier_agrees():
    conv = torch.nn.Conv2d(2, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1., 0.], [0., 1.], [-1., -1.]])
                          [:, :, None, None])
    feats = torch.tensor([[2., 0.], [0., 2.], [-1., -1.]])
    keep = classifier_agrees(feats, torch.tensor([0, 0, 2]), conv)
    assert keep.tolist() == [True, False, True]
