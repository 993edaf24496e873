from .config_utils import check_inputs, enable_amp, load_config, missing_inputs
from .distributed import finish_distributed, init_cpu_distributed
from .evaluation import build_test_runner, evaluate, evaluate_random, iter_predictions
from .toy_benchmark import prepare_toy_data, toy_config
from .training import train_segmentor

__all__ = [
    'check_inputs', 'finish_distributed', 'init_cpu_distributed', 'missing_inputs', 'enable_amp', 'load_config', 'train_segmentor', 'evaluate', 'evaluate_random',
    'build_test_runner', 'iter_predictions', 'prepare_toy_data', 'toy_config'
]
