"""Self-training on pseudo labels (ST / CBST / CBST-SP, Zou et al.)."""
from typing import Dict, Optional

import torch

from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from .domain_adaptive_segmentor import DomainAdaptiveSegmentor


@MODELS.register_module()
class SelfTrainingSegmentor(DomainAdaptiveSegmentor):
    """Source cross-entropy plus target cross-entropy on pseudo labels (CBST Eq. 3-8).

    Each training item carries a labelled source image and a target image whose
    ``gt_sem_seg`` is its pseudo label (``LoadPseudoLabel``, written by
    ``PseudoLabelHook``; 255 where no label was selected). One step minimises

        L = L_seg(source) + target_weight * L_seg(target, pseudo labels)
            [+ loss_regularizer(target)]

    with the segmentor's own decode (and auxiliary) head losses, i.e. the per-pixel
    cross-entropy of Eq. 3 (ST) / Eq. 5 (CBST) restricted to selected pixels; which
    pixels are selected (and the self-paced portion, spatial priors) is the hook's
    policy. ``loss_regularizer`` is an optional extra target loss on the logits, e.g.
    ``KLDRegularizationLoss`` (CRST's MRKLD). A batch with only target images (no
    source part) trains on the pseudo labels alone.

    Args:
        segmentor (dict): the mmseg segmentor config (the source model's).
        source_checkpoint (str, optional): the source model to start from.
        target_weight (float): weight of the target pseudo-label loss.
        loss_regularizer (dict, optional): an extra unsupervised target loss.
    """

    data_preprocessor_type = 'DomainPairDataPreProcessor'

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: Optional[str] = None,
                 target_weight: float = 1.0,
                 loss_regularizer: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        super().__init__(segmentor, source_checkpoint=source_checkpoint,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         pretrained=pretrained, train_cfg=train_cfg, bn_stats=bn_stats)
        self.target_weight = target_weight
        self.loss_regularizer = None if loss_regularizer is None else MODELS.build(
            loss_regularizer)

    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One update of the segmentor on a source batch and a pseudo-labelled target
        batch (both through the segmentor's forward, so DDP synchronises them)."""
        self.check_bn_stats_ready()
        with optim_wrapper.optim_context(self.segmentor):
            data = self.data_preprocessor(data, True)
            target = data.get('target', data)
            losses = {}
            if 'source' in data:
                source = data['source']
                with self.source_bn_context():  # bn_stats.track
                    losses.update(self.prefixed_losses(
                        self.segmentor(source['inputs'], source['data_samples'], 'loss'),
                        'src.'))
            target_losses = self.segmentor(target['inputs'], target['data_samples'],
                                           'loss')
            losses.update(self.prefixed_losses(target_losses, 'tgt.', self.target_weight))
            if self.loss_regularizer is not None:
                logits = self.upsample_like(self.logits(self.segmentor, target['inputs']),
                                            target['inputs'])
                losses['tgt.loss_reg'] = self.loss_regularizer(
                    logits, self._pseudo_labels(target['data_samples']))
            loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    @staticmethod
    def _pseudo_labels(data_samples) -> Tensor:
        return torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long()
