"""tools/benchmarks/toy_methods.py --jobs: every job waits for the jobs it needs (a
method that starts from another one's run never trains that run beside it), and the
parallel run returns what the serial one does."""
import argparse
import importlib.util
import os
import os.path as osp
import time
from functools import partial

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def toy_methods():
    path = osp.join(REPO, 'tools', 'benchmarks', 'toy_methods.py')
    spec = importlib.util.spec_from_file_location('toy_methods', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_args(**kw) -> argparse.Namespace:
    base = dict(seeds=[0, 1], methods=['sfda', 'pixintrada'], variants=['method', 'term_off'])
    return argparse.Namespace(**dict(base, **kw))


def check_needs(folder: str, graph: dict, job: tuple) -> dict:
    """A stand-in job: fails unless every job it needs has finished; marks itself done."""
    for need in graph[job]:
        assert osp.exists(osp.join(folder, repr(need))), f'{job} started before {need}'
    time.sleep(0.05)
    open(osp.join(folder, repr(job)), 'w').close()
    return {repr(job): {'needs': len(graph[job])}}


def test_job_graph_runs_a_shared_start_first():
    tm = toy_methods()
    graph = tm.job_graph(bench_args())
    order = list(graph)
    for job, needs in graph.items():
        assert all(order.index(n) < order.index(job) for n in needs)  # serial order works
    for seed in (0, 1):
        start = ('method', seed, 'adaptseg', 'method')  # PixIntraDA's start, not asked for
        assert start in graph
        for variant in ('method', 'term_off'):
            assert start in graph[('method', seed, 'pixintrada', variant)]
    results = {job: ({'source-only': {}, 'AdaBN': {}} if job[0] == 'source-only' else
                     {job[0]: {}} if job[0] == 'oracle' else
                     {f'{job[2]} ({job[3]})': {}}) for job in graph if job[0] != 'data'}
    rows = tm.collect(bench_args(), results)[0]
    assert list(rows) == ['source-only', 'AdaBN', 'oracle', 'sfda (method)', 'sfda (term_off)',
                          'pixintrada (method)', 'pixintrada (term_off)']


def test_parallel_run_waits_for_needs_and_matches_serial(tmp_path):
    tm = toy_methods()
    graph = tm.job_graph(bench_args())
    results = []
    for jobs in (1, 3):
        folder = str(tmp_path / f'jobs{jobs}')
        os.makedirs(folder)
        results.append(tm.run_graph(graph, partial(check_needs, folder, graph), jobs))
    assert results[0] == results[1]
    assert set(results[1]) == set(graph)
