"""A dataset whose items carry one labelled source item and one target item."""
from typing import Any, Dict, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS
from torch.utils.data import Dataset


@DATASETS.register_module()
class DomainPairDataset(Dataset):
    """Pairs a source dataset with a target dataset for UDA training.

    Item ``i`` is ``dict(source=source[i % len(source)], target=target[j])`` with ``j`` drawn
    uniformly from NumPy's global generator, which mmengine seeds per run and per dataloader
    worker, so the two domains are shuffled independently and a seeded run is reproducible.
    The length is the larger of the two datasets, so one epoch sees every source and (in
    expectation) every target image.

    Args:
        source (dict | Dataset): The labelled source dataset or its config.
        target (dict | Dataset): The target dataset or its config (labels optional).
    """

    def __init__(self, source: Union[dict, Dataset],
                 target: Union[dict, Dataset]) -> None:
        self.source = self._build(source, 'source')
        self.target = self._build(target, 'target')
        self.metainfo = dict(getattr(self.source, 'metainfo', {}))
        target_classes = getattr(self.target, 'metainfo', {}).get('classes')
        source_classes = self.metainfo.get('classes')
        if target_classes and source_classes and \
                tuple(target_classes) != tuple(source_classes):
            raise ValueError(
                'DomainPairDataset: source and target datasets have different '
                f'classes ({len(source_classes)} vs {len(target_classes)}); '
                'both must use the same label space, e.g. metainfo=dict(classes=...).')

    @staticmethod
    def _build(cfg: Union[dict, Dataset], name: str) -> Dataset:
        dataset = DATASETS.build(cfg) if isinstance(cfg, dict) else cfg
        if len(dataset) == 0:
            raise ValueError(f'DomainPairDataset: the {name} dataset is empty '
                             f'({type(dataset).__name__}); check its data_root.')
        return dataset

    def full_init(self) -> None:
        for dataset in (self.source, self.target):
            if isinstance(dataset, BaseDataset):
                dataset.full_init()

    def __len__(self) -> int:
        return max(len(self.source), len(self.target))

    def __getitem__(self, idx: int) -> Dict[str, Any]:
        target_idx = np.random.randint(len(self.target))
        return dict(
            source=self.source[idx % len(self.source)],
            target=self.target[target_idx])
