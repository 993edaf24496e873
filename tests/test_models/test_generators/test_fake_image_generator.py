import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sfda.models.generators import FakeImageGenerator


def test_default_size_and_normalised_channels():
    torch.manual_seed(0)
    gen = MODELS.build(dict(type='FakeImageGenerator', ngf=8))
    imgs = gen.sample(2)
    assert imgs.shape == (2, 3, 128, 256)  # 256x128 images
    mean = imgs.mean(dim=(0, 2, 3))
    std = imgs.std(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(mean, torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(std, torch.ones(3), atol=1e-3, rtol=0)


def test_small_config_reproducible_and_trainable():
    gen = FakeImageGenerator(latent_dim=16, out_size=(16, 32), ngf=4,
                             num_upsamples=2)
    assert gen.seed_size == (4, 8)
    a = gen.sample(3, generator=torch.Generator().manual_seed(1))
    b = gen.sample(3, generator=torch.Generator().manual_seed(1))
    assert a.shape == (3, 3, 16, 32)
    torch.testing.assert_close(a, b)
    z = torch.randn(2, 16, 1, 1)
    gen(z).pow(2).mean().backward()
    assert gen.project.weight.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match='not divisible by 2\\*\\*num_'):
        FakeImageGenerator(out_size=(100, 256))
    with pytest.raises(ValueError, match='out_size'):
        FakeImageGenerator(out_size=128)
    gen = FakeImageGenerator(latent_dim=8, out_size=(8, 8), ngf=2,
                             num_upsamples=1)
    with pytest.raises(ValueError, match=r'\(B, 8\)'):
        gen(torch.randn(2, 7))
    with pytest.raises(ValueError, match='batch_size'):
        gen.sample(0)
