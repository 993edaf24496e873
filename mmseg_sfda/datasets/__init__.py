from .domain_pair_dataset import DomainPairDataset  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .gta5_dataset import GTA5Dataset  # noqa: F401
from .nthu_dataset import NTHUDataset  # noqa: F401
from .synthia_dataset import SynthiaDataset  # noqa: F401
