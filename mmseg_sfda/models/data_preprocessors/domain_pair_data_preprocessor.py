"""Data preprocessor for items that carry a source and a target domain."""
from typing import Any, Dict

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS

DOMAINS = ('source', 'target')


@MODELS.register_module()
class DomainPairDataPreProcessor(SegDataPreProcessor):
    """Normalise, pad and stack each domain of a :class:`DomainPairDataset` batch.

    A batch collated from ``dict(source=..., target=...)`` items becomes
    ``dict(source=dict(inputs, data_samples), target=dict(inputs, data_samples))``;
    an ordinary batch (validation, inference) is processed as by ``SegDataPreProcessor``.
    """

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        if not any(domain in data for domain in DOMAINS):
            return super().forward(data, training)
        missing = [d for d in DOMAINS if d not in data]
        if missing:
            raise KeyError(f'DomainPairDataPreProcessor: batch has no {missing} '
                           f'entry (keys: {sorted(data)})')
        return {d: super(DomainPairDataPreProcessor, self).forward(data[d], training)
                for d in DOMAINS}
