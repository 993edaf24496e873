from .fake_image_generator import FakeImageGenerator

__all__ = ['FakeImageGenerator']
