"""Data shared by the hook tests that train the tiny source model."""
import pytest

from runner_utils import write_tiny_gta5


@pytest.fixture
def data_root(tmp_path) -> str:
    """Four random 32x64 GTA5-layout pairs."""
    return write_tiny_gta5(str(tmp_path / 'gta5'), num=4)
