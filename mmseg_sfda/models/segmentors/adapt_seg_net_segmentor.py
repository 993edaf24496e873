"""AdaptSegNet (Tsai et al.): output-space adversarial UDA; AdvEnt / MinEnt (Vu et al.)."""
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import DeferredBNUpdate, parameters_frozen, self_information_map
from ..utils.requirements import Requirement
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

INPUT_MODES = ('softmax', 'entropy')
#: (sub-module name, output level) of each discriminator
LEVELS = (('discriminator', 'main'), ('discriminator_aux', 'aux'))


@MODELS.register_module()
class AdaptSegNetSegmentor(DomainAdaptiveSegmentor):
    """Output-space adversarial adaptation with source labels (AdaptSegNet, AdvEnt, MinEnt).

    Reads :class:`DomainPairDataset` batches (a labelled source and an unlabelled target
    part). One ``train_step`` does, in the order of AdaptSegNet / ADVENT:

    1. segmentor: the mmseg segmentor's own ``loss`` on the source batch (main head plus
       its auxiliary head, each with its ``loss_decode`` weight: the multi-level seg
       loss), plus ``lambda_adv_main * L_adv(D(x_t), source)`` and, multi-level,
       ``lambda_adv_aux * L_adv(D_aux(x_aux_t), source)``, plus the optional target
       losses ``loss_target`` / ``loss_target_aux`` (MinEnt). The discriminators only
       relay gradients here (their parameters get none);
    2. discriminators: ``(L_adv(D(x_s), source) + L_adv(D(x_t), target)) / 2`` per level on
       the detached outputs of step 1 (source -> 0, target -> 1).

    ``x`` is what the discriminator sees: the softmax of the logits bilinearly upsampled
    to the input size (``input_mode='softmax'``, AdaptSegNet) or the weighted
    self-information map ``-p log p / log C`` of them (``'entropy'``, AdvEnt). With
    ``use_adversarial=False`` and ``loss_target=dict(type='EntropyLoss', ...)`` it is
    MinEnt; with ``discriminator_aux=None`` single-level.

    Distributed (``MMSeparateDistributedDataParallel``): every pass whose gradients the
    segmentor needs goes through the wrapped segmentor's forward; the discriminators
    are called bare (``self.unwrap``) while they only relay gradients. The target pass
    (``mode='tensor'``; the auxiliary logits from its features, caught by a forward
    hook) runs before the source ``mode='loss'`` pass, whose graph holds every segmentor
    parameter, so DDP's unused-parameter search (made on the last forward's outputs
    when ``find_unused_parameters=True``) marks none as unused. The target pass's BN
    running-statistics update is deferred (:class:`DeferredBNUpdate`) and applied after
    the source pass, so the statistics end each step on the target batch as in
    AdaptSegNet's code; with ``bn_stats=dict(track='target')`` the source pass does not
    update them at all.
    Both passes are back-propagated at once (one ``update_params``, so mmengine's
    gradient accumulation and AMP apply), so peak memory is that of two passes, where
    AdaptSegNet back-propagates the source loss before the target pass.

    Args:
        segmentor (dict): the mmseg segmentor (EncoderDecoder); multi-level needs its
            ``auxiliary_head`` (e.g. ``configs/_base_/models/deeplabv2_r101_multilevel.py``).
        discriminator (dict, optional): D on the main head's output.
        discriminator_aux (dict, optional): D on the auxiliary head's output; None is
            single-level adversarial training.
        loss_adv (dict): the adversarial loss (BCE with logits, source 0 / target 1).
        lambda_adv_main (float): weight of the main adversarial loss. Default 0.001
            (AdaptSegNet ``LAMBDA_ADV_TARGET2``, ADVENT ``LAMBDA_ADV_MAIN``).
        lambda_adv_aux (float): weight of the auxiliary one. Default 0.0002
            (AdaptSegNet ``LAMBDA_ADV_TARGET1``, ADVENT ``LAMBDA_ADV_AUX``).
        input_mode (str): 'softmax' (AdaptSegNet) or 'entropy' (AdvEnt).
        use_adversarial (bool): False builds no discriminator (MinEnt, or source-only
            training on domain pairs).
        loss_target (dict, optional): a loss on the upsampled target main logits, e.g.
            ``dict(type='EntropyLoss', loss_weight=0.001)`` (MinEnt, its weight is
            lambda_ent).
        loss_target_aux (dict, optional): the same on the auxiliary logits (ADVENT's
            ``LAMBDA_ENT_AUX`` = 0.0002).
        source_checkpoint (str, optional): start the segmentor from a trained model
            (AdaptSegNet / ADVENT start from ImageNet weights: None).
    """

    data_preprocessor_type = 'DomainPairDataPreProcessor'
    requirements = (Requirement(
        'auxiliary_head', 'one auxiliary_head for multi-level training '
        '(discriminator_aux / loss_target_aux read its output)',
        'a segmentor with one auxiliary_head (configs/_base_/models/'
        "deeplabv2_r101_multilevel.py; mmseg's PSPNet, DeepLabV3(+) and FCN configs have "
        'one), or discriminator_aux=None and loss_target_aux=None (single level)'), )

    def __init__(self,
                 segmentor: ConfigType,
                 discriminator: OptConfigType = dict(type='FCDiscriminator', num_classes=19),
                 discriminator_aux: OptConfigType = dict(
                     type='FCDiscriminator', num_classes=19),
                 loss_adv: ConfigType = dict(type='AdversarialLoss'),
                 lambda_adv_main: float = 0.001,
                 lambda_adv_aux: float = 0.0002,
                 input_mode: str = 'softmax',
                 use_adversarial: bool = True,
                 loss_target: OptConfigType = None,
                 loss_target_aux: OptConfigType = None,
                 source_checkpoint: Optional[str] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        super().__init__(
            segmentor,
            source_checkpoint=source_checkpoint,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            pretrained=pretrained,
            train_cfg=train_cfg, bn_stats=bn_stats)
        if input_mode not in INPUT_MODES:
            raise ValueError(f'AdaptSegNetSegmentor: input_mode must be one of '
                             f'{INPUT_MODES}, got {input_mode!r}')
        self.input_mode = input_mode
        self.use_adversarial = use_adversarial
        self.lambda_adv_main = lambda_adv_main
        self.lambda_adv_aux = lambda_adv_aux
        num_classes = self.segmentor.decode_head.num_classes
        if use_adversarial:
            if discriminator is None:
                raise ValueError('AdaptSegNetSegmentor: use_adversarial=True needs a '
                                 'discriminator (use_adversarial=False for MinEnt)')
            self.discriminator = self._build_discriminator(discriminator, num_classes)
            if discriminator_aux is not None:
                self._check_aux_head('discriminator_aux')
                self.discriminator_aux = self._build_discriminator(
                    discriminator_aux, num_classes)
            self.loss_adv = MODELS.build(loss_adv)
        self.loss_target = None if loss_target is None else MODELS.build(loss_target)
        self.loss_target_aux = None
        if loss_target_aux is not None:
            self._check_aux_head('loss_target_aux')
            self.loss_target_aux = MODELS.build(loss_target_aux)

    def _check_aux_head(self, what: str) -> None:
        head = getattr(self.segmentor, 'auxiliary_head', None)
        if head is None:
            raise self.unmet('auxiliary_head', f'{what} is set but the segmentor has no '
                             'auxiliary_head')
        if isinstance(head, nn.ModuleList):
            raise self.unmet('auxiliary_head', f'{what} is set but the segmentor has '
                             f'{len(head)} auxiliary heads')

    @staticmethod
    def _build_discriminator(cfg: ConfigType, num_classes: int) -> nn.Module:
        module = MODELS.build(cfg)
        channels = getattr(module, 'num_classes', num_classes)
        if channels != num_classes:
            raise ValueError(f'AdaptSegNetSegmentor: the discriminator reads {channels} '
                             f'channels but the segmentor has {num_classes} classes: '
                             f'set its num_classes={num_classes}')
        return module

    @property
    def with_discriminator_aux(self) -> bool:
        return hasattr(self, 'discriminator_aux')

    def _discriminators(self) -> List[Tuple[str, str]]:
        """(sub-module name, level) of the discriminators this model has."""
        if not self.use_adversarial:
            return []
        return [(name, level) for name, level in LEVELS if hasattr(self, name)]

    @property
    def _needs_target_aux(self) -> bool:
        return self.with_discriminator_aux or self.loss_target_aux is not None

    # ------------------------------------------------------------------ pieces
    def discriminator_input(self, logits: Tensor) -> Tensor:
        """What D sees: softmax (AdaptSegNet) or the self-information map (AdvEnt)."""
        if self.input_mode == 'entropy':
            return self_information_map(logits)
        return logits.softmax(dim=1)

    def _target_logits(self, inputs: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Main and (when needed) auxiliary target logits, upsampled to the input size.

        One pass through the (possibly wrapped) segmentor's forward; the auxiliary head
        runs on the features caught by a forward hook on the neck (or backbone).
        """
        if not self._needs_target_aux:
            return self.upsample_like(self.logits(self.segmentor, inputs), inputs), None
        inner = self.unwrap(self.segmentor)
        source = inner.neck if getattr(inner, 'with_neck', False) else inner.backbone
        caught: List = []
        handle = source.register_forward_hook(lambda _m, _i, out: caught.append(out))
        try:
            main = self.logits(self.segmentor, inputs)
        finally:
            handle.remove()
        aux = inner.auxiliary_head(caught[-1])
        return self.upsample_like(main, inputs), self.upsample_like(aux, inputs)

    @staticmethod
    @contextmanager
    def _catch_head_outputs(heads: Dict[str, nn.Module]) -> Iterator[Dict[str, Tensor]]:
        """Record what each head's ``forward`` returns while inside the context.

        mmseg's ``BaseDecodeHead.loss`` calls ``self.forward`` directly (no module hooks
        fire), so ``forward`` is replaced on the instance and restored on exit.
        """
        caught: Dict[str, Tensor] = {}
        patched = []

        def recording(name, forward):
            def forward_and_record(*args, **kwargs):
                out = forward(*args, **kwargs)
                caught[name] = out
                return out
            return forward_and_record

        try:
            for name, head in heads.items():
                own = head.__dict__.get('forward')
                head.forward = recording(name, head.forward)
                patched.append((head, own))
            yield caught
        finally:
            for head, own in patched:
                del head.forward
                if own is not None:
                    head.forward = own

    def _source_loss(self, source: dict,
                     catch: bool) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """The segmentor's own loss on the source batch (through its forward) and, with
        ``catch``, the logits of the heads the discriminators read."""
        inner = self.unwrap(self.segmentor)
        heads = {}
        if catch:
            heads['main'] = inner.decode_head
            if self.with_discriminator_aux:
                heads['aux'] = inner.auxiliary_head
        with self._catch_head_outputs(heads) as caught:
            losses = self.segmentor(source['inputs'], source['data_samples'], mode='loss')
        missing = sorted(set(heads) - set(caught))
        if missing:
            raise RuntimeError(f'AdaptSegNetSegmentor: the {missing} head(s) did not '
                               'call their forward in loss(); their source logits are '
                               'needed by the discriminators')
        return losses, caught

    # ------------------------------------------------------------------- steps
    def _segmentor_step(self, source: dict, target: dict,
                        optim_wrapper: OptimWrapperDict,
                        log: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Source seg loss + adversarial (+ target) losses; returns the detached
        discriminator inputs ``{src,tgt}_{main,aux}`` for the discriminator step."""
        wrapper = optim_wrapper['segmentor']
        levels = self._discriminators()
        # the discriminators only relay gradients here: bare modules, no gradients
        bare = {name: self.unwrap(getattr(self, name)) for name, _ in levels}
        d_inputs: Dict[str, Tensor] = {}
        # BN running statistics: the target batch's update is applied after the source
        # pass (AdaptSegNet's order: target last); the source pass follows bn_stats.track
        target_bn = DeferredBNUpdate(self.unwrap(self.segmentor))
        with ExitStack() as frozen:
            for module in bare.values():
                frozen.enter_context(parameters_frozen(module))
            with wrapper.optim_context(self.segmentor):
                loss = 0.
                tgt = target['inputs']
                if levels or self.loss_target is not None or \
                        self.loss_target_aux is not None:
                    with target_bn.record():
                        logits = dict(zip(('main', 'aux'), self._target_logits(tgt)))
                    for name, level in levels:
                        x = self.discriminator_input(logits[level])
                        loss_adv = self.loss_adv(bare[name](x), 'source')
                        weight = getattr(self, f'lambda_adv_{level}')
                        loss = loss + weight * loss_adv
                        log[f'seg.loss_adv_{level}'] = loss_adv.detach()
                        d_inputs[f'tgt_{level}'] = x.detach()
                    for level, loss_fn in (('main', self.loss_target),
                                           ('aux', self.loss_target_aux)):
                        if loss_fn is not None:
                            loss_tgt = loss_fn(logits[level])
                            loss = loss + loss_tgt
                            suffix = '' if level == 'main' else '_aux'
                            log[f'seg.loss_target{suffix}'] = loss_tgt.detach()
                # the source pass last: its graph holds every segmentor parameter
                with self.source_bn_context():
                    losses, src_logits = self._source_loss(source, catch=bool(levels))
                loss_src, src_log = self.parse_losses(losses)
                loss = loss_src + loss
        wrapper.update_params(loss)
        target_bn.apply()  # after the backward, which reads the BN buffers
        with torch.no_grad():
            for level, value in src_logits.items():
                d_inputs[f'src_{level}'] = self.discriminator_input(
                    self.upsample_like(value.detach(), source['inputs']))
        log.update({f'src.{k}': v.detach() for k, v in src_log.items() if k != 'loss'})
        log['seg.loss_src'] = loss_src.detach()
        log['seg.loss'] = loss.detach()
        return d_inputs

    def _discriminator_step(self, d_inputs: Dict[str, Tensor],
                            optim_wrapper: OptimWrapperDict,
                            log: Dict[str, Tensor]) -> None:
        """Each discriminator: source outputs -> source (0), target -> target (1)."""
        for name, level in self._discriminators():
            module, wrapper = getattr(self, name), optim_wrapper[name]
            with wrapper.optim_context(module):
                d_src = module(d_inputs[f'src_{level}'])
                d_tgt = module(d_inputs[f'tgt_{level}'])
                loss = (self.loss_adv(d_src, 'source') + self.loss_adv(d_tgt, 'target')) / 2
            wrapper.update_params(loss)
            with torch.no_grad():
                acc = torch.cat([(d_src < 0).flatten(), (d_tgt > 0).flatten()]).float()
            log[f'disc.loss_{level}'] = loss.detach()
            log[f'disc.acc_{level}'] = acc.mean() * 100

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Segmentor, then discriminators (AdaptSegNet Sec. 3 / ADVENT Sec. 3.2)."""
        self.check_bn_stats_ready()
        data = self.data_preprocessor(data, True)
        if not isinstance(data, dict) or 'source' not in data or 'target' not in data:
            raise ValueError('AdaptSegNetSegmentor trains on DomainPairDataset batches '
                             "(dict(source=..., target=...)); set train_dataloader."
                             "dataset=dict(type='DomainPairDataset', source=..., "
                             'target=...)')
        log: Dict[str, Tensor] = {}
        d_inputs = self._segmentor_step(data['source'], data['target'], optim_wrapper, log)
        if self._discriminators():
            self._discriminator_step(d_inputs, optim_wrapper, log)
        return log
