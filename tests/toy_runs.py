"""Settings shared by the short toy-benchmark runs of tests/test_methods.

Every run is deterministic on CPU: one intra-op thread (tests/conftest.py), no loader
workers, ``torch.use_deterministic_algorithms`` (mmengine's ``randomness.deterministic``)
and a fixed seed; ``toy_config`` rescales the learning-rate schedule to the shortened run.
"""
SIZE = (64, 128)


def short(iters: int, seed: int = 0) -> dict:
    """cfg-options for a short single-process run of ``iters`` iterations."""
    return {
        'randomness.seed': seed, 'randomness.deterministic': True,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters, 'default_hooks.checkpoint.interval': iters,
        'train_cfg.val_begin': iters + 1,  # no validation in training: evaluate() scores
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'default_hooks.logger.interval': 10
    }
