"""PixIntraDA (Yan et al.): pixel-level intra-domain adaptation after an inter-domain model."""
from contextlib import ExitStack
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import DeferredBNUpdate, parameters_frozen
from .adapt_seg_net_segmentor import AdaptSegNetSegmentor
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

ADVERSARIAL = ('binary', 'continuous')
#: (sub-module name, output level) of each discriminator
LEVELS = (('discriminator', 'main'), ('discriminator_aux', 'aux'))
#: the round-2 regulariser: CRST's MRKLD with weight 0.1 (our choice; PixIntraDA gives
#: no weight)
DEFAULT_KLD = dict(type='KLDRegularizationLoss', loss_weight=0.1)


@MODELS.register_module()
class PixIntraDASegmentor(DomainAdaptiveSegmentor):
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
       ``loss_decode`` weight), plus ``beta_main * L_G^adv(D(p))`` and
       ``beta_aux * L_G^adv(D_aux(p_aux))`` (Eq. 9), plus, from round 2 on, the KLD
       regulariser on the main logits over the easy pixels (CRST MRKLD). ``p`` is the
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
    reduction 'mean' with weight M; ``ContinuousIndexLoss`` reduction 'mean'), so beta
    means the same in both variants; ``loss_adv=dict(type='AdversarialLoss',
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
        beta_main (float): beta of Eq. 9 for the main discriminator. Default 0.001 (the
            paper gives no value; AdaptSegNet's main adversarial weight, whose
            discriminator settings Sec. 5.3 adopts).
        beta_aux (float): the same for the auxiliary one. Default 0.0002 (AdaptSegNet).
        round (int): 1, or 2 (and later): T=1 of the paper, which adds ``loss_kld``.
        loss_kld (dict | None | 'auto'): the KLD regulariser (``KLDRegularizationLoss``);
            'auto' (default): none in round 1, weight 0.1 (our choice) from round 2 on; None:
            never (the paper's "+T=1" row without KLD).
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
    requirements = AdaptSegNetSegmentor.requirements

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
                 beta_main: float = 0.001,
                 beta_aux: float = 0.0002,
                 round: int = 1,  # noqa: A002 (the paper's round / the config key)
                 loss_kld: Union[ConfigType, None, str] = 'auto',
                 source_loss_weight: float = 0.,
                 with_source_model: bool = True,
                 load_source_into_segmentor: bool = True,
                 ignore_index: int = 255,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        if adversarial not in ADVERSARIAL:
            raise ValueError(f'PixIntraDASegmentor: adversarial must be one of '
                             f'{ADVERSARIAL}, got {adversarial!r}')
        if not isinstance(round, int) or isinstance(round, bool) or round < 1:
            raise ValueError(f'PixIntraDASegmentor: round must be an int >= 1, got {round!r}')
        if isinstance(loss_kld, str) and loss_kld != 'auto':
            raise ValueError("PixIntraDASegmentor: loss_kld must be a loss config, None or "
                             f"'auto', got {loss_kld!r}")
        if source_loss_weight < 0:
            raise ValueError('PixIntraDASegmentor: source_loss_weight must be >= 0, got '
                             f'{source_loss_weight}')
        super().__init__(segmentor, source_checkpoint=source_checkpoint,
                         with_source_model=with_source_model,
                         load_source_into_segmentor=load_source_into_segmentor,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         pretrained=pretrained, train_cfg=train_cfg, bn_stats=bn_stats)
        self.adversarial = adversarial
        self.beta_main = beta_main
        self.beta_aux = beta_aux
        self.round = round
        self.source_loss_weight = source_loss_weight
        self.ignore_index = ignore_index
        num_classes = self.segmentor.decode_head.num_classes
        if discriminator is None:
            raise ValueError('PixIntraDASegmentor needs a discriminator (pixel-level '
                             'adversarial learning is the method)')
        self.discriminator = self._build_discriminator(discriminator, num_classes,
                                                       'discriminator')
        if discriminator_aux is not None:
            head = getattr(self.segmentor, 'auxiliary_head', None)
            if head is None or isinstance(head, nn.ModuleList):
                raise self.unmet('auxiliary_head', 'discriminator_aux is set but the '
                                 'segmentor has ' + ('no auxiliary_head' if head is None
                                                     else f'{len(head)} of them'))
            self.discriminator_aux = self._build_discriminator(
                discriminator_aux, num_classes, 'discriminator_aux')
        self.loss_adv = MODELS.build(loss_adv)
        self.loss_cts = MODELS.build(loss_cts)
        if loss_kld == 'auto':
            loss_kld = DEFAULT_KLD if round >= 2 else None
        self.loss_kld = None if loss_kld is None else MODELS.build(loss_kld)

    @staticmethod
    def _build_discriminator(cfg: ConfigType, num_classes: int, name: str) -> nn.Module:
        module = MODELS.build(cfg)
        channels = getattr(module, 'num_classes', num_classes)
        if channels != num_classes:
            raise ValueError(f'PixIntraDASegmentor: {name} reads {channels} channels but '
                             f'the segmentor has {num_classes} classes: set its '
                             f'num_classes={num_classes}')
        if getattr(module, 'upsample_to_input', True) is False:
            raise ValueError(f'PixIntraDASegmentor: {name} must score every pixel (Sec. '
                             '5.1): set upsample_to_input=True')
        return module

    @property
    def with_discriminator_aux(self) -> bool:
        return hasattr(self, 'discriminator_aux')

    def _discriminators(self) -> List[Tuple[str, str]]:
        """(sub-module name, level) of the discriminators this model has."""
        return [(name, level) for name, level in LEVELS if hasattr(self, name)]

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
    def _adversarial_g(self, d_out: Tensor, split: Dict[str, Tensor]) -> Tensor:
        """The segmentor's adversarial term on hard pixels (Eq. 6 / Eq. 8)."""
        if self.adversarial == 'binary':
            return self.loss_adv(d_out, target=0., weight=split['hard'])
        return self.loss_cts(d_out, hard_mask=split['hard'], mode='generator')

    def _adversarial_d(self, d_out: Tensor, split: Dict[str, Tensor]) -> Tensor:
        """The discriminator's term (Eq. 6: easy -> 0, hard -> 1 / Eq. 8: regress Z)."""
        if self.adversarial == 'binary':
            return self.loss_adv(d_out, target=split['hard'], weight=split['valid'])
        return self.loss_cts(d_out, index=split['index'], mode='discriminator')

    @staticmethod
    def _check_pixel_level(d_out: Tensor, x: Tensor, name: str) -> None:
        if d_out.shape[-2:] != x.shape[-2:]:
            raise RuntimeError(f'PixIntraDASegmentor: {name} returned '
                               f'{tuple(d_out.shape[-2:])} maps for {tuple(x.shape[-2:])} '
                               'inputs; pixel-level adversarial learning needs one score '
                               'per pixel (FCDiscriminator(upsample_to_input=True))')

    def _segmentor_step(self, target: dict, split: Dict[str, Tensor],
                        optim_wrapper: OptimWrapperDict, log: Dict[str, Tensor],
                        source: Optional[dict] = None) -> Dict[str, Tensor]:
        """Eq. 5 + beta * adversarial (+ KLD, + source); returns the detached
        discriminator inputs per level."""
        wrapper = optim_wrapper['segmentor']
        levels = self._discriminators()
        inner = self.unwrap(self.segmentor)
        heads = {'main': inner.decode_head}
        if self.with_discriminator_aux:
            heads['aux'] = inner.auxiliary_head
        # the discriminators only relay gradients here: bare modules, no gradients
        bare = {name: self.unwrap(getattr(self, name)) for name, _ in levels}
        inputs = target['inputs']
        d_inputs: Dict[str, Tensor] = {}
        # with a source part, the target batch's BN update is applied after the source
        # pass (target last, as AdaptSegNet's code); the source pass follows bn_stats.track
        target_bn = DeferredBNUpdate(inner)
        with ExitStack() as frozen:
            for module in bare.values():
                frozen.enter_context(parameters_frozen(module))
            with wrapper.optim_context(self.segmentor):
                # one pass through the (possibly wrapped) segmentor's forward: its own
                # loss against the easy pseudo labels (Eq. 5) and the head outputs
                # caught on the way, which the adversarial terms differentiate through
                with AdaptSegNetSegmentor._catch_head_outputs(heads) as caught, \
                        target_bn.record():
                    losses = self.segmentor(inputs, target['data_samples'], mode='loss')
                missing = sorted(set(heads) - set(caught))
                if missing:
                    raise RuntimeError(f'PixIntraDASegmentor: the {missing} head(s) did '
                                       'not call their forward in loss()')
                loss_seg, seg_log = self.parse_losses(losses)
                loss = loss_seg
                for name, level in levels:
                    prob = self.upsample_like(caught[level], inputs).softmax(dim=1)
                    d_out = bare[name](prob)
                    self._check_pixel_level(d_out, prob, name)
                    loss_adv = self._adversarial_g(d_out, split)
                    loss = loss + getattr(self, f'beta_{level}') * loss_adv
                    log[f'seg.loss_adv_{level}'] = loss_adv.detach()
                    d_inputs[level] = prob.detach()
                if self.loss_kld is not None:
                    loss_kld = self.loss_kld(self.upsample_like(caught['main'], inputs),
                                             split['labels'],
                                             ignore_index=self.ignore_index)
                    loss = loss + loss_kld
                    log['seg.loss_kld'] = loss_kld.detach()
                if source is not None:
                    with self.source_bn_context():
                        src_losses = self.segmentor(source['inputs'],
                                                    source['data_samples'], mode='loss')
                    loss_src, src_log = self.parse_losses(src_losses)
                    loss = loss + self.source_loss_weight * loss_src
                    log.update({f'src.{k}': v.detach() for k, v in src_log.items()
                                if k != 'loss'})
                    log['seg.loss_src'] = loss_src.detach()
        wrapper.update_params(loss)
        target_bn.apply()  # after the backward, which reads the BN buffers
        log.update({f'tgt.{k}': v.detach() for k, v in seg_log.items() if k != 'loss'})
        log['seg.loss_seg'] = loss_seg.detach()
        log['seg.loss'] = loss.detach()
        return d_inputs

    def _discriminator_step(self, d_inputs: Dict[str, Tensor], split: Dict[str, Tensor],
                            optim_wrapper: OptimWrapperDict,
                            log: Dict[str, Tensor]) -> None:
        """Each discriminator on the detached target outputs of the segmentor step."""
        for name, level in self._discriminators():
            module, wrapper = getattr(self, name), optim_wrapper[name]
            with wrapper.optim_context(module):
                d_out = module(d_inputs[level])
                self._check_pixel_level(d_out, d_inputs[level], name)
                loss = self._adversarial_d(d_out, split)
            wrapper.update_params(loss)
            log[f'disc.loss_{level}'] = loss.detach()
            if self.adversarial == 'binary':
                with torch.no_grad():
                    right = (d_out[:, 0] > 0) == split['hard']
                    log[f'disc.acc_{level}'] = right[split['valid']].float().mean() * 100

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Segmentor (Eq. 5 + beta * adversarial), then the discriminators (Eq. 9)."""
        self.check_bn_stats_ready()
        data = self.data_preprocessor(data, True)
        source = data.get('source')
        target = data.get('target', data)
        if source is not None and self.source_loss_weight == 0:
            raise ValueError(
                'PixIntraDASegmentor: the batch has a labelled source part but '
                'source_loss_weight=0 (PixIntraDA trains on the pseudo-labelled target '
                'set alone): train on the target dataset, or set source_loss_weight > 0')
        split = self.pixel_split(target['inputs'], target['data_samples'],
                                 need_index=self.adversarial == 'continuous')
        log: Dict[str, Tensor] = {}
        with torch.no_grad():  # Eq. 4 on this batch (the hook's kept_total: the set's)
            log['tgt.easy_prop'] = split['easy'].sum() / split['valid'].sum().clamp(min=1)
        d_inputs = self._segmentor_step(target, split, optim_wrapper, log, source)
        self._discriminator_step(d_inputs, split, optim_wrapper, log)
        return log
