"""The base of the adversarial methods: a segmentor step, then one step per discriminator."""
from abc import abstractmethod
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import DeferredBNUpdate
from ..utils.requirements import Requirement
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

#: (sub-module name, output level) of each discriminator: D on the decode head's output,
#: D_aux on the auxiliary head's (multi-level)
LEVELS = (('discriminator', 'main'), ('discriminator_aux', 'aux'))


class AdversarialSegmentor(DomainAdaptiveSegmentor):
    """Segmentor + output-space discriminators, trained as mmagic's ``BaseGAN``.

    ``train_step`` runs, over an ``OptimWrapperDict`` (``segmentor``, ``discriminator``,
    ``discriminator_aux``), small named steps that a method overrides:

    1. :meth:`split_batch`: the preprocessed batch as the method reads it;
    2. the segmentor update: :meth:`segmentor_losses` inside
       ``optim_wrapper['segmentor'].optim_context`` while the discriminators only relay
       gradients (:meth:`relaying_gradients`: bare modules, parameters without
       gradients, each flag restored after); it returns the loss terms and the detached
       inputs of the discriminator step. Target passes recorded with the step's
       :class:`DeferredBNUpdate` update the BN running statistics after the backward;
    3. for each discriminator, :meth:`discriminator_losses` on those inputs.

    Every step's loss is the sum of its ``*loss*`` terms (mmengine's ``parse_losses``,
    :meth:`parse_step_losses`): each term is logged as it enters the objective, i.e.
    already multiplied by its weight, and the sums as ``seg.loss`` / ``disc.loss_<level>``.
    The adversarial terms of the segmentor are ``lambda_adv_<level> *``
    :meth:`adversarial_loss` (default: ``loss_adv(D(x), 'source')``, target outputs made
    to look source); the discriminators' default loss is AdaptSegNet's (source -> 0,
    target -> 1, averaged). docs/adding_a_method.md shows a new method on this base.

    Args:
        segmentor (dict): the mmseg segmentor; ``discriminator_aux`` needs its one
            ``auxiliary_head``.
        discriminator (dict, optional): D on the main head's output (None: no
            adversarial training).
        discriminator_aux (dict, optional): D on the auxiliary head's output.
        loss_adv (dict): the adversarial loss of both steps.
        lambda_adv_main (float): weight of the main adversarial term of the segmentor.
        lambda_adv_aux (float): weight of the auxiliary one.
        **kwargs: every :class:`DomainAdaptiveSegmentor` argument (``source_checkpoint``,
            ``with_source_model``, ``load_source_into_segmentor``, ``bn_stats`` ...).
    """

    requirements = (Requirement(
        'auxiliary_head', 'one auxiliary_head for multi-level training '
        '(discriminator_aux / loss_target_aux read its output)',
        'a segmentor with one auxiliary_head (configs/_base_/models/'
        "deeplabv2_r101_multilevel.py; mmseg's PSPNet, DeepLabV3(+) and FCN configs have "
        'one), or discriminator_aux=None and loss_target_aux=None (single level)'), )

    def __init__(self,
                 segmentor: ConfigType,
                 discriminator: OptConfigType = None,
                 discriminator_aux: OptConfigType = None,
                 loss_adv: ConfigType = dict(type='AdversarialLoss'),
                 lambda_adv_main: float = 0.001,
                 lambda_adv_aux: float = 0.0002,
                 **kwargs) -> None:
        super().__init__(segmentor, **kwargs)
        self.lambda_adv_main = lambda_adv_main
        self.lambda_adv_aux = lambda_adv_aux
        if discriminator is not None:
            self.discriminator = self.build_discriminator(discriminator, 'discriminator')
        if discriminator_aux is not None:
            self.check_aux_head('discriminator_aux')
            self.discriminator_aux = self.build_discriminator(discriminator_aux,
                                                              'discriminator_aux')
        if self.discriminators():
            self.loss_adv = MODELS.build(loss_adv)

    # ------------------------------------------------------------------ set-up
    def build_discriminator(self, cfg: ConfigType, name: str) -> nn.Module:
        """Build a discriminator; its ``num_classes`` must be the segmentor's."""
        module = MODELS.build(cfg)
        num_classes = self.segmentor.decode_head.num_classes
        channels = getattr(module, 'num_classes', num_classes)
        if channels != num_classes:
            raise ValueError(f'{type(self).__name__}: {name} reads {channels} channels '
                             f'but the segmentor has {num_classes} classes: set its '
                             f'num_classes={num_classes}')
        return module

    def check_aux_head(self, what: str) -> None:
        """``what`` reads the auxiliary head: the segmentor must have exactly one."""
        head = getattr(self.segmentor, 'auxiliary_head', None)
        if head is None:
            raise self.unmet('auxiliary_head', f'{what} is set but the segmentor has no '
                             'auxiliary_head')
        if isinstance(head, nn.ModuleList):
            raise self.unmet('auxiliary_head', f'{what} is set but the segmentor has '
                             f'{len(head)} auxiliary heads')

    @property
    def with_discriminator_aux(self) -> bool:
        return hasattr(self, 'discriminator_aux')

    def discriminators(self) -> List[Tuple[str, str]]:
        """(sub-module name, level) of the discriminators this model has."""
        return [(name, level) for name, level in LEVELS if hasattr(self, name)]

    # ------------------------------------------------------------------ pieces
    @staticmethod
    @contextmanager
    def catch_head_outputs(heads: Dict[str, nn.Module]) -> Iterator[Dict[str, Tensor]]:
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

    def loss_and_head_outputs(self, part: dict, levels: List[str]
                              ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """The segmentor's own loss on ``part`` (``inputs`` / ``data_samples``, through
        its possibly wrapped forward) and the logits of the heads of ``levels``
        ('main': decode head, 'aux': auxiliary head) caught on the way."""
        inner = self.unwrap(self.segmentor)
        heads = {level: inner.decode_head if level == 'main' else inner.auxiliary_head
                 for level in levels}
        with self.catch_head_outputs(heads) as caught:
            losses = self.segmentor(part['inputs'], part['data_samples'], mode='loss')
        missing = sorted(set(heads) - set(caught))
        if missing:
            raise RuntimeError(f'{type(self).__name__}: the {missing} head(s) did not '
                               'call their forward in loss(); their logits are needed by '
                               'the discriminators')
        return losses, caught

    def discriminator_input(self, logits: Tensor, batch: Optional[dict] = None) -> Tensor:
        """What a discriminator sees of a head's logits: their softmax."""
        return logits.softmax(dim=1)

    def adversarial_loss(self, d_out: Tensor, level: str, batch: dict) -> Tensor:
        """The segmentor's adversarial term on D's output for target outputs (unweighted):
        make them look source."""
        return self.loss_adv(d_out, 'source')

    def adversarial_losses(self, logits: Dict[str, Tensor], relay: Dict[str, nn.Module],
                           batch: dict) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """``seg.loss_adv_<level>``: ``lambda_adv_<level> *`` :meth:`adversarial_loss`
        of each relaying discriminator on :meth:`discriminator_input` of the target
        ``logits[level]``; and those inputs, detached (``tgt_<level>``)."""
        losses, d_inputs = {}, {}
        for level, discriminator in relay.items():
            x = self.discriminator_input(logits[level], batch)
            losses[f'seg.loss_adv_{level}'] = getattr(self, f'lambda_adv_{level}') * \
                self.adversarial_loss(discriminator(x), level, batch)
            d_inputs[f'tgt_{level}'] = x.detach()
        return losses, d_inputs

    # ------------------------------------------------------------------- steps
    def split_batch(self, data: dict) -> dict:
        """The preprocessed batch as :meth:`segmentor_losses` reads it."""
        return data

    @abstractmethod
    def segmentor_losses(self, batch: dict, relay: Dict[str, nn.Module],
                         target_bn: DeferredBNUpdate
                         ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """The segmentor's loss terms (weighted) and the detached inputs of
        :meth:`discriminator_losses`. ``relay``: level -> bare discriminator (gradients
        pass through it to the segmentor only); passes inside ``target_bn.record()``
        update the BN running statistics after the backward."""

    def discriminator_losses(self, discriminator: nn.Module, level: str,
                             d_inputs: Dict[str, Tensor],
                             batch: dict) -> Dict[str, Tensor]:
        """One discriminator's loss terms: source outputs ``d_inputs['src_<level>']``
        -> source (0), target ``d_inputs['tgt_<level>']`` -> target (1), averaged; and
        its accuracy (%)."""
        d_src = discriminator(d_inputs[f'src_{level}'])
        d_tgt = discriminator(d_inputs[f'tgt_{level}'])
        loss = (self.loss_adv(d_src, 'source') + self.loss_adv(d_tgt, 'target')) / 2
        with torch.no_grad():
            acc = torch.cat([(d_src < 0).flatten(), (d_tgt > 0).flatten()]).float()
        return {f'disc.loss_{level}': loss, f'disc.acc_{level}': acc.mean() * 100}

    def train_segmentor(self, batch: dict, optim_wrapper: OptimWrapperDict,
                        log_vars: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """One segmentor update; returns the inputs of the discriminator step."""
        wrapper = optim_wrapper['segmentor']
        names = self.discriminators()
        target_bn = DeferredBNUpdate(self.unwrap(self.segmentor))
        with self.relaying_gradients(*(getattr(self, n) for n, _ in names)) as bare:
            relay = {level: module for (_, level), module in zip(names, bare)}
            with wrapper.optim_context(self.segmentor):
                losses, d_inputs = self.segmentor_losses(batch, relay, target_bn)
                loss, log = self.parse_step_losses(losses, 'seg.loss')
        wrapper.update_params(loss)
        target_bn.apply()  # after the backward, which reads the BN buffers
        log_vars.update(log)
        return d_inputs

    def train_discriminators(self, d_inputs: Dict[str, Tensor], batch: dict,
                             optim_wrapper: OptimWrapperDict,
                             log_vars: Dict[str, Tensor]) -> None:
        """One update of each discriminator on the detached ``d_inputs``."""
        for name, level in self.discriminators():
            module, wrapper = getattr(self, name), optim_wrapper[name]
            with wrapper.optim_context(module):
                losses = self.discriminator_losses(module, level, d_inputs, batch)
                loss, log = self.parse_step_losses(losses, f'disc.loss_{level}')
            wrapper.update_params(loss)
            log_vars.update(log)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Segmentor, then each discriminator (AdaptSegNet Sec. 3's order)."""
        self.check_bn_stats_ready()
        batch = self.split_batch(self.data_preprocessor(data, True))
        log_vars: Dict[str, Tensor] = {}
        d_inputs = self.train_segmentor(batch, optim_wrapper, log_vars)
        self.train_discriminators(d_inputs, batch, optim_wrapper, log_vars)
        return log_vars
