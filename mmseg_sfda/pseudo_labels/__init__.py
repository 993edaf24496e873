"""Offline pseudo labels: score statistics, threshold policies, spatial priors and the
passes of a labelling round (``PseudoLabelHook`` decides when they run)."""
from . import policies  # noqa: F401  (registers the policies)
from .class_confidence_histogram import ClassConfidenceHistogram
from .dataset_scorer import DatasetScorer

__all__ = ['ClassConfidenceHistogram', 'DatasetScorer']
