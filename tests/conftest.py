"""Test-session settings: one thread per process, mmseg's default scope, and the order and
grouping of tests for pytest-xdist (README: ``-n 2 --dist loadgroup``).

One thread per process, pinned here for the whole suite: ``torch.set_num_threads(1)`` in
this process (each xdist worker imports this file), and ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` = 1 in the environment that every subprocess (tools, torchrun,
kill -9 runs) inherits. The suite runs many tiny forwards; on a 2-core machine two threads
per op cost far more in synchronisation than they gain (measured: 1.16 s vs 0.03 s for a
toy segmentor forward while other processes were running), and two workers already use
both cores.
"""
import os

import pytest
import torch
from mmengine.registry import init_default_scope

os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = '1'
torch.set_num_threads(1)

#: Under xdist the long tests run first, in this order (node id substrings; the rest keep
#: their order), so that no long test starts last and leaves one worker running alone.
#: CBST's method test comes first: it trains the source model the other method tests
#: share (toy_runs.run_once), while the other worker starts on mmseg's tools.
LONG_FIRST = (
    'tests/test_methods/test_cbst_toy.py',
    'tests/test_tools/test_stock_tools.py',
    'tests/test_methods/',
    'tests/test_tools/test_kill_resume.py',
    'tests/test_models/test_segmentors/test_mixing_matrix.py',
    '_distributed.py',
    'tests/test_apis/test_determinism.py',
    'tests/test_tools/test_train.py',
)

#: ``--dist loadgroup`` runs each group on one worker, one test after another:
#: modules whose module-scoped fixtures (toy data, source checkpoints, a trained source
#: model) would otherwise be made once on each worker, and the two-process (torchrun,
#: gloo) tests, so that at most two training processes of theirs share the two cores.
GROUPS = {
    'tests/test_tools/test_stock_tools.py': 'stock_tools',
    'tests/test_tools/test_kill_resume.py': 'kill_resume',
    'tests/test_models/test_segmentors/test_mixing_matrix.py': 'mixing_matrix',
    '_distributed.py': 'two_processes',
    'tests/test_apis/test_determinism.py': 'determinism',
}


def _rank(nodeid: str) -> int:
    return next((i for i, key in enumerate(LONG_FIRST) if key in nodeid), len(LONG_FIRST))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    if not os.environ.get('PYTEST_XDIST_WORKER'):
        return  # a single process: the order of the files
    for item in items:
        path = item.nodeid.split('::')[0]
        group = next((g for key, g in GROUPS.items() if key in path), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a file's tests stay together


@pytest.fixture
def mmseg_scope():
    """mmseg's default scope, as the runner sets it (preprocessors are built by name)."""
    init_default_scope('mmseg')
