"""nested_datasets: every wrapped dataset, built or as config dicts, once each."""
from types import SimpleNamespace

from mmseg_sfda.utils.nested_datasets import nested_datasets


def test_config_dicts_depth_first():
    a, b, c = dict(type='A'), dict(type='B'), dict(type='C')
    pair = dict(type='DomainPairDataset', source=a, target=dict(type='Repeat', dataset=b))
    root = dict(type='ConcatDataset', datasets=[pair, c])
    names = [n['type'] for n in nested_datasets(root)]
    assert names == ['ConcatDataset', 'C', 'DomainPairDataset', 'Repeat', 'B', 'A']


def test_built_datasets_each_once_and_leaves_without_children():
    leaf = SimpleNamespace(name='leaf')
    twice = SimpleNamespace(name='concat', datasets=[leaf, leaf])
    root = SimpleNamespace(name='repeat', dataset=twice)
    assert [n.name for n in nested_datasets(root)] == ['repeat', 'concat', 'leaf']
    assert list(nested_datasets(None)) == []
