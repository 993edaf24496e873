"""PixIntraDA (Yan et al.): pixel-level intra-domain adaptation after an inter-domain model."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import DeferredBNUpdate
from .adversarial_segmentor import AdversarialSegmentor

ADVERSARIAL = ('binary', 'continuous')


@MODELS.register_module()
class PixIntraDASegmentor(AdversarialSegmentor):
    """Pixel-level intra-domain adaptation (PixIntraDA, Yan et al., MM 2021).

    The second stage after any inter-domain model G_inter (AdaptSegNet, BDL ...): the
    segmentor starts from ``source_checkpoint`` = G_inter, whose frozen copy
    (``with_source_model``) labels the target set once through ``PseudoLabelHook``
    (``model='source_model'``, ``policy=dict(type='median', cap=0.9, empty_value=1.0)``:
    t_k = min(class median, 0.9)). Pixels whose G_inter confidence reaches ``alpha * t_k``
    of their arg-max class k are *easy* (M = 0, Eq. 2) and keep that class as pseudo label
    (Eq. 3); the others are *hard* (M = 1) and get 255. The hook writes these labels (the
    thresholds scaled by alpha: see docs/methods/pixintrada.md), the training pipeline
    loads them with the confidence map (``LoadPseudoLabel(with_confidence=True)`` +
    ``PackSegInputsWithExtras``), so here easy = ``gt_sem_seg != ignore_index``.

    One ``train_step`` (segmentor, then discriminators, as AdaptSegNet):

    1. segmentor: the segmentor's own loss on the target batch against the easy pseudo
       labels (Eq. 5; main head and, multi-level, auxiliary head with its
       ``loss_decode`` weight), plus ``lambda_adv_main * L_G^adv(D(p))`` and
       ``lambda_adv_aux * L_G^adv(D_aux(p_aux))`` (beta of Eq. 9), plus, with
       ``loss_kld`` (round 2), ``lambda_kld *`` the KLD regulariser on the main logits
       over the easy pixels (CRST MRKLD). ``p`` is the
       softmax of the logits bilinearly upsampled to the input size; the discriminators
       only relay gradients here.
    2. discriminators, on the detached ``p`` of step 1:

       - ``adversarial='binary'`` (PLA, Eq. 6, per-pixel BCE reading): D learns
         easy -> 0, hard -> 1 over every pixel; the segmentor minimises
         ``BCE(D(p), 0)`` on the hard pixels (hard pixels made to look easy).
       - ``adversarial='continuous'`` (CTS, Eq. 7-8): D regresses
         Z = 0 on easy, ``1 - max_k y^k`` (the loaded confidence) on hard pixels,
         ``||D - Z||^2``; the segmentor minimises ``||D o M||^2``.

    Both G terms sum over the hard pixels and divide by all pixels (``AdversarialLoss``
    reduction 'mean' with weight M; ``ContinuousIndexLoss`` reduction 'mean'), so
    lambda_adv (beta) means the same in both variants; ``loss_adv=dict(type='AdversarialLoss',
    reduction='weighted_mean')`` averages over the hard pixels instead. Each
    discriminator's output is upsampled to the input size (``FCDiscriminator(
    upsample_to_input=True)``, Sec. 5.1): one score per pixel.

    Data: the paper trains on the target images and their pseudo labels only (Sec. 5.3,
    Eq. 9 has no source term): plain batches of the pseudo-labelled target set. A
    ``DomainPairDataset`` batch is accepted with ``source_loss_weight > 0`` (adds the
    segmentor's own loss on the labelled source part; not in the paper).

    Padding (images smaller than the crop ``size``): padded pixels are neither easy nor
    hard; they are left out of both binary terms. (The continuous D term regresses them
    to 0.)

    Args:
        segmentor (dict): the mmseg segmentor (G_inter's config); multi-level needs its
            ``auxiliary_head`` (``configs/_base_/models/deeplabv2_r101_multilevel.py``).
        source_checkpoint (str, optional): the inter-domain model G_inter (e.g. the
            AdaptSegNet checkpoint); in round 2 the round-1 PixIntraDA checkpoint.
        discriminator (dict, optional): D on the main head's output.
        discriminator_aux (dict, optional): D on the auxiliary head's output; None is
            single-level.
        adversarial (str): 'binary' (Eq. 6) or 'continuous' (Eq. 7-8).
        loss_adv (dict): the binary adversarial loss (BCE with logits).
        loss_cts (dict): the continuous-index loss.
        lambda_adv_main (float): beta of Eq. 9 for the main discriminator (the
            adversarial weight, named as AdaptSegNet's). Default 0.001 (the paper gives
            no value; AdaptSegNet's main adversarial weight, whose discriminator settings
            Sec. 5.3 adopts).
        lambda_adv_aux (float): the same for the auxiliary one. Default 0.0002
            (AdaptSegNet).
        loss_kld (dict, optional): the KLD regulariser of a later round (T=1 of the
            paper: ``dict(type='KLDRegularizationLoss')``, CRST's MRKLD on the easy
            pixels). Default None: none (round 1, and the paper's "+T=1" row without
            KLD); the round-2 config sets it.
        lambda_kld (float): its weight. Default 0.1 (CRST's ``mr_weight_kld``; our
            choice, PixIntraDA gives none).
        source_loss_weight (float): weight of the source seg loss on pair batches
            (default 0: target only, as the paper).
        with_source_model (bool): keep the frozen copy of G_inter that
            ``PseudoLabelHook(model='source_model')`` labels with. Default True.
        load_source_into_segmentor (bool): start G from G_inter (default); False starts
            from the segmentor's own initialisation (IntraDA's step 2 restarts from
            ImageNet weights).
        ignore_index (int): the label of hard (and padded) pixels.
    """

    data_preprocessor_type = 'DomainPairDataPreProcessor'

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: Optional[str] = None,
                 discriminator: OptConfigType = dict(
                     type='FCDiscriminator', num_classes=19, upsample_to_input=True),
                 discriminator_aux: OptConfigType = dict(
                     type='FCDiscriminator', num_classes=19, upsample_to_input=True),
                 adversarial: str = 'binary',
                 loss_adv: ConfigType = dict(type='AdversarialLoss'),
                 loss_cts: ConfigType = dict(type='ContinuousIndexLoss'),
                 lambda_adv_main: float = 0.001,
                 lambda_adv_aux: float = 0.0002,
                 loss_kld: OptConfigType = None,
                 lambda_kld: float = 0.1,
                 source_loss_weight: float = 0.,
                 with_source_model: bool = True,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        if adversarial not in ADVERSARIAL:
            raise ValueError(f'PixIntraDASegmentor: adversarial must be one of '
                             f'{ADVERSARIAL}, got {adversarial!r}')
        if loss_kld is not None and not isinstance(loss_kld, dict):
            raise ValueError('PixIntraDASegmentor: loss_kld must be a loss config or None, '
                             f'got {loss_kld!r}')
        if source_loss_weight < 0:
            raise ValueError('PixIntraDASegmentor: source_loss_weight must be >= 0, got '
                             f'{source_loss_weight}')
        if discriminator is None:
            raise ValueError('PixIntraDASegmentor needs a discriminator (pixel-level '
                             'adversarial learning is the method)')
        super().__init__(segmentor, discriminator=discriminator,
                         discriminator_aux=discriminator_aux, loss_adv=loss_adv,
                         lambda_adv_main=lambda_adv_main, lambda_adv_aux=lambda_adv_aux,
                         source_checkpoint=source_checkpoint,
                         with_source_model=with_source_model, **kwargs)
        self.adversarial = adversarial
        self.source_loss_weight = source_loss_weight
        self.ignore_index = ignore_index
        self.loss_cts = MODELS.build(loss_cts)
        self.lambda_kld = lambda_kld
        self.loss_kld = None if loss_kld is None else MODELS.build(loss_kld)

    def build_discriminator(self, cfg: ConfigType, name: str) -> nn.Module:
        module = super().build_discriminator(cfg, name)
        if getattr(module, 'upsample_to_input', True) is False:
            raise ValueError(f'PixIntraDASegmentor: {name} must score every pixel (Sec. '
                             '5.1): set upsample_to_input=True')
        return module

    # ------------------------------------------------------------- pixel split
    def pixel_split(self, inputs: Tensor, samples: List[SegDataSample],
                    need_index: bool) -> Dict[str, Tensor]:
        """Per-pixel masks of a (padded) target batch, each (B, H, W) at input size.

        ``valid``: inside the image (not padding); ``easy``: a pseudo label (M = 0);
        ``hard``: valid and not easy (M = 1); ``labels``: the pseudo labels;
        with ``need_index`` the continuous index ``index`` (Eq. 7: 0 on easy pixels,
        ``1 - confidence`` on hard ones).
        """
        b, _, h, w = inputs.shape
        missing = [i for i, s in enumerate(samples) if 'gt_sem_seg' not in s]
        if missing:
            raise KeyError('PixIntraDASegmentor: target samples carry no pseudo labels '
                           '(gt_sem_seg): put LoadPseudoLabel in the target pipeline and '
                           'PseudoLabelHook in custom_hooks')
        labels = torch.stack([s.gt_sem_seg.data[0] for s in samples]).long()
        if tuple(labels.shape[-2:]) != (h, w):
            raise ValueError(f'PixIntraDASegmentor: pseudo labels are {tuple(labels.shape[-2:])}'
                             f' but the inputs {(h, w)}')
        valid = torch.zeros(b, h, w, dtype=torch.bool, device=inputs.device)
        for i, s in enumerate(samples):
            ih, iw = s.metainfo.get('img_shape', (h, w))[:2]
            valid[i, :ih, :iw] = True  # mmseg pads right and bottom
        labels = labels.to(inputs.device)
        easy = (labels != self.ignore_index) & valid
        split = dict(valid=valid, easy=easy, hard=valid & ~easy, labels=labels)
        if need_index:
            split['index'] = (1. - self._confidence(samples, (h, w), inputs.device)) \
                * split['hard']
        return split

    @staticmethod
    def _confidence(samples: List[SegDataSample], size: Tuple[int, int],
                    device: torch.device) -> Tensor:
        """The labelling model's max probability, (B, H, W), zero-padded to ``size``."""
        if any('gt_confidence' not in s for s in samples):
            raise KeyError("PixIntraDASegmentor: adversarial='continuous' needs the "
                           'confidence map: LoadPseudoLabel(with_confidence=True) and '
                           'PackSegInputsWithExtras in the target pipeline')
        maps = []
        for s in samples:
            conf = s.gt_confidence.data.float().to(device)
            if conf.dim() == 3:
                conf = conf[0]
            maps.append(F.pad(conf, (0, size[1] - conf.shape[-1], 0,
                                     size[0] - conf.shape[-2]), value=0.))
        return torch.stack(maps)

    # ------------------------------------------------------------------- steps
    def discriminator_input(self, logits: Tensor, batch: Optional[dict] = None) -> Tensor:
        """``p``: the softmax of a head's logits upsampled to the target input size."""
        return self.upsample_like(logits, batch['target']['inputs']).softmax(dim=1)

    def adversarial_loss(self, d_out: Tensor, level: str, batch: dict) -> Tensor:
        """The segmentor's adversarial term on hard pixels (Eq. 6 / Eq. 8)."""
        split = batch['split']
        self._check_pixel_level(d_out, split['valid'], level)
        if self.adversarial == 'binary':
            return self.loss_adv(d_out, target=0., weight=split['hard'])
        return self.loss_cts(d_out, hard_mask=split['hard'], mode='generator')

    def discriminator_losses(self, discriminator: nn.Module, level: str,
                             d_inputs: Dict[str, Tensor],
                             batch: dict) -> Dict[str, Tensor]:
        """The discriminator's term on the detached target ``p`` (Eq. 6: easy -> 0,
        hard -> 1 / Eq. 8: regress Z); the binary one's accuracy (%)."""
        split = batch['split']
        d_out = discriminator(d_inputs[f'tgt_{level}'])
        self._check_pixel_level(d_out, split['valid'], level)
        if self.adversarial == 'binary':
            losses = {f'disc.loss_{level}': self.loss_adv(d_out, target=split['hard'],
                                                          weight=split['valid'])}
            with torch.no_grad():
                right = (d_out[:, 0] > 0) == split['hard']
                losses[f'disc.acc_{level}'] = right[split['valid']].float().mean() * 100
            return losses
        return {f'disc.loss_{level}': self.loss_cts(d_out, index=split['index'],
                                                     mode='discriminator')}

    @staticmethod
    def _check_pixel_level(d_out: Tensor, valid: Tensor, level: str) -> None:
        if d_out.shape[-2:] != valid.shape[-2:]:
            name = 'discriminator' if level == 'main' else 'discriminator_aux'
            raise RuntimeError(f'PixIntraDASegmentor: {name} returned '
                               f'{tuple(d_out.shape[-2:])} maps for '
                               f'{tuple(valid.shape[-2:])} inputs; pixel-level '
                               'adversarial learning needs one score per pixel '
                               '(FCDiscriminator(upsample_to_input=True))')

    def split_batch(self, data: dict) -> dict:
        """``target`` (the batch, or its target part), ``source`` (a pair batch's
        labelled part or None) and the pixel ``split`` of the target batch."""
        source = data.get('source')
        target = data.get('target', data)
        if source is not None and self.source_loss_weight == 0:
            raise ValueError(
                'PixIntraDASegmentor: the batch has a labelled source part but '
                'source_loss_weight=0 (PixIntraDA trains on the pseudo-labelled target '
                'set alone): train on the target dataset, or set source_loss_weight > 0')
        split = self.pixel_split(target['inputs'], target['data_samples'],
                                 need_index=self.adversarial == 'continuous')
        return dict(target=target, source=source, split=split)

    def segmentor_losses(self, batch: dict, relay: Dict[str, nn.Module],
                         target_bn: DeferredBNUpdate
                         ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Eq. 5 + lambda_adv * adversarial (+ lambda_kld * KLD, + source); and the
        detached discriminator inputs."""
        target, source, split = batch['target'], batch['source'], batch['split']
        losses: Dict[str, Tensor] = {}
        with torch.no_grad():  # Eq. 4 on this batch (the hook's kept_total: the set's)
            losses['tgt.easy_prop'] = split['easy'].sum() / split['valid'].sum().clamp(
                min=1)
        # one pass through the (possibly wrapped) segmentor's forward: its own loss
        # against the easy pseudo labels (Eq. 5) and the head outputs caught on the
        # way, which the adversarial terms differentiate through. With a source part,
        # the target batch's BN update is applied after the source pass (target last,
        # as AdaptSegNet's code); the source pass follows bn_stats.track
        with target_bn.record():
            seg_losses, caught = self.loss_and_head_outputs(target, ['main'] + [
                level for level in relay if level != 'main'])
        losses.update(self.prefixed_losses(seg_losses, 'tgt.'))
        adv_losses, d_inputs = self.adversarial_losses(caught, relay, batch)
        losses.update(adv_losses)
        if self.loss_kld is not None:
            losses['seg.loss_kld'] = self.lambda_kld * self.loss_kld(
                self.upsample_like(caught['main'], target['inputs']), split['labels'],
                ignore_index=self.ignore_index)
        if source is not None:
            with self.source_bn_context():
                src_losses = self.segmentor(source['inputs'], source['data_samples'],
                                            mode='loss')
            losses.update(self.prefixed_losses(src_losses, 'src.',
                                               self.source_loss_weight))
        return losses, d_inputs
