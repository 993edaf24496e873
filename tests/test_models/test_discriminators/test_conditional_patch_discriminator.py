import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.discriminators import ConditionalPatchDiscriminator


@pytest.mark.parametrize('size', [(16, 16), (32, 64), (24, 40), (64, 128)])
def test_output_shape_at_patch_sizes(size):
    torch.manual_seed(0)
    disc = ConditionalPatchDiscriminator(num_classes=5, num_patches=16, ndf=8)
    x = torch.softmax(torch.randn(3, 5, *size), dim=1)
    out = disc(x, torch.tensor([0, 7, 15]))
    assert out.shape == (3, )
    assert disc(x, 3).shape == (3, )


def test_conditioning_and_grads():
    torch.manual_seed(0)
    disc = MODELS.build(
        dict(type='ConditionalPatchDiscriminator', num_classes=4,
             num_patches=9, ndf=4, num_convs=2))
    assert disc.embedding.embedding_dim == 256
    x = torch.softmax(torch.randn(2, 4, 8, 8), 1).requires_grad_(True)
    out0, out1 = disc(x, 0), disc(x, 1)
    assert not torch.allclose(out0, out1)  # depends on the patch index
    # projection: the difference is <e(0) - e(1), phi(x)>, linear in e
    e = disc.embedding.weight
    phi = disc.phi(disc.convs(x).mean(dim=(2, 3)))
    torch.testing.assert_close(out0 - out1, ((e[0] - e[1]) * phi).sum(1))
    out0.sum().backward()
    assert x.grad.abs().sum() > 0


def test_errors():
    disc = ConditionalPatchDiscriminator(num_classes=3, num_patches=4, ndf=4)
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match='below 16'):
        disc(torch.rand(2, 3, 8, 16), 0)
    with pytest.raises(ValueError, match=r'\[0, 4\)'):
        disc(x, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match='integer tensor'):
        disc(x, torch.tensor([0., 1.]))
    with pytest.raises(ValueError, match=r'\(B, 3, h, w\)'):
        disc(torch.rand(2, 5, 16, 16), 0)
    with pytest.raises(ValueError, match='num_patches'):
        ConditionalPatchDiscriminator(num_classes=3, num_patches=0)
