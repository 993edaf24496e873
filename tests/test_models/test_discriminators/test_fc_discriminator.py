import pytest
import torch
import torch.nn as nn

from mmseg.registry import MODELS
from mmseg_sfda.models.discriminators.fc_discriminator import FCDiscriminator


@pytest.mark.parametrize('size,expected', [((64, 64), (2, 2)),
                                           ((65, 129), (2, 4)),
                                           ((32, 33), (1, 1)),
                                           ((256, 512), (8, 16))])
def test_output_shapes(size, expected):
    torch.manual_seed(0)
    disc = FCDiscriminator(num_classes=3, ndf=4)
    x = torch.softmax(torch.randn(2, 3, *size), dim=1)
    assert disc(x).shape == (2, 1, *expected)


@pytest.mark.parametrize('size', [(64, 64), (65, 129), (40, 72)])
def test_upsample_to_input(size):
    torch.manual_seed(0)
    disc = FCDiscriminator(num_classes=3, ndf=4, upsample_to_input=True)
    x = torch.softmax(torch.randn(2, 3, *size), dim=1).requires_grad_(True)
    out = disc(x)
    assert out.shape == (2, 1, *size)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    # bilinear upsample of the plain output
    disc.upsample_to_input = False
    low = disc(x.detach())
    expected = nn.functional.interpolate(
        low, size=size, mode='bilinear', align_corners=False)
    torch.testing.assert_close(out.detach(), expected)


def test_default_architecture_and_parameter_count():
    disc = MODELS.build(dict(type='FCDiscriminator', num_classes=19))
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    for c in convs:
        assert c.kernel_size == (4, 4) and c.stride == (2, 2)
        assert c.padding == (1, 1) and c.bias is not None
    relus = [m for m in disc.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(relus) == 4
    assert all(r.negative_slope == 0.2 for r in relus)
    assert isinstance(disc.layers[-1], nn.Conv2d)  # no activation at the end
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm,
                  nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)
    assert not any(isinstance(m, norm_types) for m in disc.modules())
    # AdaptSegNet: sum of (in * out * 16 + out)
    widths = [19, 64, 128, 256, 512, 1]
    expected = sum(i * o * 16 + o for i, o in zip(widths[:-1], widths[1:]))
    assert expected == 2781121
    assert sum(p.numel() for p in disc.parameters()) == expected


def test_ndf_scales_widths():
    disc = FCDiscriminator(num_classes=2, ndf=8)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 1]
    assert convs[0].in_channels == 2


def test_errors():
    disc = FCDiscriminator(num_classes=3, ndf=4)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        disc(torch.rand(1, 4, 64, 64))
    with pytest.raises(ValueError, match='below 32'):
        disc(torch.rand(1, 3, 31, 64))
    with pytest.raises(ValueError, match='num_classes'):
        FCDiscriminator(num_classes=0)
    with pytest.raises(ValueError, match='ndf'):
        FCDiscriminator(num_classes=3, ndf=2.5)
