"""BNStatsPolicy: validation and the source-pass context."""
import pytest
import torch
from torch import nn

from mmseg_sfda.models.utils.bn_stats_policy import BNStatsPolicy


def test_defaults_are_the_papers_reading():
    policy = BNStatsPolicy.build(None)
    assert (policy.init, policy.track, policy.refresh) == ('source', 'all', False)
    assert not policy.needs_hook
    assert BNStatsPolicy.build(dict(refresh=True)).needs_hook
    assert BNStatsPolicy.build(dict(init='target')).needs_hook


@pytest.mark.parametrize('cfg, error, match', [
    (dict(init='adabn'), ValueError, 'bn_stats.init'),
    (dict(track='source'), ValueError, 'bn_stats.track'),
    (dict(refresh='yes'), ValueError, 'bn_stats.refresh'),
    (dict(refresh=1), ValueError, 'bn_stats.refresh'),
    (dict(inti='target'), KeyError, 'unknown keys'),
])
def test_bad_policy_is_one_clear_error(cfg, error, match):
    with pytest.raises(error, match=match):
        BNStatsPolicy.build(cfg)


@pytest.mark.parametrize('track, moves', [('all', True), ('target', False)])
def test_source_context_follows_track(track, moves):
    bn = nn.BatchNorm2d(3).train()
    with BNStatsPolicy.build(dict(track=track)).source_context(bn):
        bn(torch.randn(2, 3, 4, 4) + 5)
    assert bool((bn.running_mean != 0).any()) is moves
