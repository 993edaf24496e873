import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmseg_sfda.models.utils import DualAttentionMaps, DualAttentionModule


def _np_softmax_rows(e):
    e = np.exp(e - e.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _np_dam(feat):
    """Eq. 8-10 for one image, F as C x N."""
    f = feat.double().numpy().reshape(feat.shape[0], -1)
    s = _np_softmax_rows(f.T @ f)  # s[j, i] = softmax_i(F_i . F_j)
    r = _np_softmax_rows(f @ f.T)
    return s, r, f


def test_shapes_and_numpy_reference():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 5) * 0.5
    maps = DualAttentionModule(in_channels=4)(x)
    assert isinstance(maps, DualAttentionMaps)
    assert maps.spatial.shape == (2, 15, 15)
    assert maps.channel.shape == (2, 4, 4)
    assert maps.dual.shape == (2, 8, 15)
    for b in range(2):
        s, r, f = _np_dam(x[b])
        np.testing.assert_allclose(maps.spatial[b], s, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(maps.channel[b], r, rtol=1e-4, atol=1e-6)
        # danet: out[:, j] = sum_i s[j, i] F[:, i]  (F S^T), then R F
        expected = np.concatenate([f @ s.T, r @ f], axis=0)
        np.testing.assert_allclose(maps.dual[b], expected, rtol=1e-4,
                                   atol=1e-5)
    np.testing.assert_allclose(maps.spatial.sum(-1), 1., rtol=1e-5)
    np.testing.assert_allclose(maps.channel.sum(-1), 1., rtol=1e-5)


def test_hand_computed_literal_product():
    # C=1, N=2, F = [1, 0]: S row 0 = softmax([1, 0]), row 1 = [1/2, 1/2]
    x = torch.tensor([[[[1., 0.]]]])
    maps = DualAttentionModule(spatial_product='literal')(x)
    a = np.e / (np.e + 1)
    np.testing.assert_allclose(maps.spatial[0], [[a, 1 - a], [.5, .5]],
                               rtol=1e-6)
    # literal F.S: [1*a + 0*.5, 1*(1-a) + 0*.5]; R = [[1]] -> R.F = F
    np.testing.assert_allclose(maps.dual[0], [[a, 1 - a], [1., 0.]],
                               rtol=1e-6)
    danet = DualAttentionModule()(x)
    np.testing.assert_allclose(danet.dual[0], [[a, .5], [1., 0.]], rtol=1e-6)


def test_projection_and_pooling():
    torch.manual_seed(0)
    dam = DualAttentionModule(in_channels=6, channels=2)
    assert not dam.projection.weight.requires_grad
    x = torch.randn(1, 6, 8, 8)
    maps = dam(x, output_size=(4, 2))
    assert maps.dual.shape == (1, 4, 8) and maps.channel.shape == (1, 2, 2)
    ref = DualAttentionModule()(
        dam.projection(F.adaptive_avg_pool2d(x, (4, 2))))
    torch.testing.assert_close(maps.dual, ref.dual)
    trainable = DualAttentionModule(
        in_channels=6, channels=2, trainable_projection=True)
    assert trainable.projection.weight.requires_grad


def test_errors_and_registry():
    assert isinstance(MODELS.build(dict(type='DualAttentionModule')),
                      DualAttentionModule)
    with pytest.raises(ValueError, match='in_channels'):
        DualAttentionModule(channels=8)
    with pytest.raises(ValueError, match='spatial_product'):
        DualAttentionModule(spatial_product='transpose')
    with pytest.raises(ValueError, match='in_channels=4'):
        DualAttentionModule(in_channels=4)(torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match='temperature'):
        DualAttentionModule(temperature=0)
