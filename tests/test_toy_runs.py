"""tests/toy_runs.py: a session fixture's ``make`` runs once for all pytest-xdist workers."""
import multiprocessing as mp
import os
import time
from pathlib import Path

from toy_runs import holding, run_once, shared_dir


class Factory:
    """Stands for pytest's ``tmp_path_factory`` of one worker."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def make(folder: str) -> dict:
    with open(Path(folder).parent / 'calls.txt', 'a') as f:
        f.write(f'{os.getpid()}\n')
    time.sleep(0.5)  # the other worker asks meanwhile
    return {'folder': folder, 'value': 0.1 + 0.2}


def worker(base: str, name: str, out: mp.Queue) -> None:
    os.environ['PYTEST_XDIST_WORKER'] = name
    out.put(run_once(Factory(Path(base) / f'popen-{name}'), 'data', make))


def test_two_workers_share_one_make(tmp_path):
    out = mp.get_context('spawn').Queue()
    procs = [mp.get_context('spawn').Process(target=worker, args=(str(tmp_path), n, out))
             for n in ('gw0', 'gw1')]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert len((tmp_path / 'calls.txt').read_text().split()) == 1
    assert results[0] == results[1] == {'folder': str(tmp_path / 'data'), 'value': 0.1 + 0.2}


def test_without_xdist_the_own_base_temp(tmp_path, monkeypatch):
    monkeypatch.delenv('PYTEST_XDIST_WORKER', raising=False)
    assert shared_dir(Factory(tmp_path)) == tmp_path
    monkeypatch.setenv('PYTEST_XDIST_WORKER', 'gw3')
    assert shared_dir(Factory(tmp_path / 'popen-gw3')) == tmp_path


def test_holding_takes_every_lock(tmp_path):
    from filelock import FileLock, Timeout
    with holding(str(tmp_path), ['b-method', 'a-method', 'b-method']):
        for name in ('a-method', 'b-method'):
            try:
                FileLock(str(tmp_path / f'{name}.lock'), timeout=0).acquire()
                raise AssertionError(f'{name} is free')
            except Timeout:
                pass
    FileLock(str(tmp_path / 'a-method.lock'), timeout=0).acquire()
