"""AdaptSegNet (Tsai et al.): output-space adversarial UDA; AdvEnt / MinEnt (Vu et al.)."""
from typing import Dict, List, Optional, Tuple

import torch
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import DeferredBNUpdate, self_information_map
from .adversarial_segmentor import AdversarialSegmentor

INPUT_MODES = ('softmax', 'entropy')


@MODELS.register_module()
class AdaptSegNetSegmentor(AdversarialSegmentor):
    """Output-space adversarial adaptation with source labels (AdaptSegNet, AdvEnt, MinEnt).

    Reads :class:`DomainPairDataset` batches (a labelled source and an unlabelled target
    part). One ``train_step`` does, in the order of AdaptSegNet / ADVENT:

    1. segmentor: the mmseg segmentor's own ``loss`` on the source batch (main head plus
       its auxiliary head, each with its ``loss_decode`` weight: the multi-level seg
       loss), plus ``lambda_adv_main * L_adv(D(x_t), source)`` and, multi-level,
       ``lambda_adv_aux * L_adv(D_aux(x_aux_t), source)``, plus the optional target
       losses ``lambda_target_main * loss_target`` / ``lambda_target_aux *
       loss_target_aux`` (MinEnt). The discriminators only relay gradients here (their
       parameters get none);
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
            ``dict(type='EntropyLoss')`` (MinEnt).
        loss_target_aux (dict, optional): the same on the auxiliary logits.
        lambda_target_main (float): weight of ``loss_target``: MinEnt's lambda_ent.
            Default 0.001 (ADVENT ``LAMBDA_ENT_MAIN``).
        lambda_target_aux (float): weight of ``loss_target_aux``. Default 0.0002
            (ADVENT ``LAMBDA_ENT_AUX``).
        **kwargs: every :class:`DomainAdaptiveSegmentor` argument; e.g.
            ``source_checkpoint`` starts the segmentor from a trained model (AdaptSegNet /
            ADVENT start from ImageNet weights: None).

    The step structure (segmentor, then discriminators; loss parsing and logs) is
    :class:`AdversarialSegmentor`'s: logged terms are weighted (``seg.loss_adv_main`` is
    ``lambda_adv_main * L_adv``) and ``seg.loss`` is their sum.
    """

    data_preprocessor_type = 'DomainPairDataPreProcessor'

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
                 lambda_target_main: float = 0.001,
                 lambda_target_aux: float = 0.0002,
                 **kwargs) -> None:
        if use_adversarial and discriminator is None:
            raise ValueError(f'{type(self).__name__}: use_adversarial=True needs a '
                             'discriminator (use_adversarial=False for MinEnt)')
        super().__init__(
            segmentor,
            discriminator=discriminator if use_adversarial else None,
            discriminator_aux=discriminator_aux if use_adversarial else None,
            loss_adv=loss_adv,
            lambda_adv_main=lambda_adv_main,
            lambda_adv_aux=lambda_adv_aux,
            **kwargs)
        if input_mode not in INPUT_MODES:
            raise ValueError(f'{type(self).__name__}: input_mode must be one of '
                             f'{INPUT_MODES}, got {input_mode!r}')
        self.input_mode = input_mode
        self.use_adversarial = use_adversarial
        self.lambda_target_main = lambda_target_main
        self.lambda_target_aux = lambda_target_aux
        self.loss_target = None if loss_target is None else MODELS.build(loss_target)
        self.loss_target_aux = None
        if loss_target_aux is not None:
            self.check_aux_head('loss_target_aux')
            self.loss_target_aux = MODELS.build(loss_target_aux)

    @property
    def _needs_target_aux(self) -> bool:
        return self.with_discriminator_aux or self.loss_target_aux is not None

    # ------------------------------------------------------------------ pieces
    def discriminator_input(self, logits: Tensor, batch: Optional[dict] = None) -> Tensor:
        """What D sees of the upsampled logits: softmax (AdaptSegNet) or the
        self-information map (AdvEnt)."""
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

    def target_losses(self, logits: Dict[str, Optional[Tensor]]) -> Dict[str, Tensor]:
        """``lambda_target_<level> * loss_target(_aux)`` of the upsampled target logits
        (MinEnt)."""
        losses = {}
        for level, loss_fn in (('main', self.loss_target), ('aux', self.loss_target_aux)):
            if loss_fn is not None:
                suffix = '' if level == 'main' else '_aux'
                losses[f'seg.loss_target{suffix}'] = getattr(
                    self, f'lambda_target_{level}') * loss_fn(logits[level])
        return losses

    def source_losses(self, source: dict, levels: List[str]
                      ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """``src.*``: the segmentor's own loss on the source batch; and the logits of
        ``levels``, upsampled to the input size, for the discriminators."""
        with self.source_bn_context():
            losses, caught = self.loss_and_head_outputs(source, levels)
        return self.prefixed_losses(losses, 'src.'), caught

    def source_discriminator_inputs(self, caught: Dict[str, Tensor],
                                    source: dict) -> Dict[str, Tensor]:
        """``src_<level>``: what D sees of the detached source logits."""
        with torch.no_grad():
            return {f'src_{level}': self.discriminator_input(
                self.upsample_like(value.detach(), source['inputs']), source)
                for level, value in caught.items()}

    # ------------------------------------------------------------------- steps
    def split_batch(self, data: dict) -> dict:
        if not isinstance(data, dict) or 'source' not in data or 'target' not in data:
            raise ValueError(f'{type(self).__name__} trains on DomainPairDataset batches '
                             "(dict(source=..., target=...)); set train_dataloader."
                             "dataset=dict(type='DomainPairDataset', source=..., "
                             'target=...)')
        return data

    def segmentor_losses(self, batch: dict, relay: Dict[str, nn.Module],
                         target_bn: DeferredBNUpdate
                         ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Adversarial (+ target) terms on the target batch, then the source seg loss
        (the source pass last: its graph holds every segmentor parameter)."""
        source, target = batch['source'], batch['target']
        losses: Dict[str, Tensor] = {}
        d_inputs: Dict[str, Tensor] = {}
        if relay or self.loss_target is not None or self.loss_target_aux is not None:
            with target_bn.record():
                logits = dict(zip(('main', 'aux'), self._target_logits(target['inputs'])))
            adv_losses, d_inputs = self.adversarial_losses(logits, relay, batch)
            losses.update(adv_losses)
            losses.update(self.target_losses(logits))
        src_losses, caught = self.source_losses(source, list(relay))
        losses.update(src_losses)
        d_inputs.update(self.source_discriminator_inputs(caught, source))
        return losses, d_inputs
