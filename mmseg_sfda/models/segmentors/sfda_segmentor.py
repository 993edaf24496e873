"""SFDA (Liu, Zhang, Wang): source-free domain knowledge transfer + IPSM self-supervision."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from ..utils import (frozen_bn_statistics, patch_entropy, rank_easy_hard,
                     set_requires_grad, split_patches)
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor


@MODELS.register_module()
class SFDASegmentor(DomainAdaptiveSegmentor):
    """Source-free adaptation with a generator of fake source samples (SFDA).

    One ``train_step`` on a batch of unlabelled target images does, in order:

    1. generator (Eq. 11): ``min L_BNS - alpha L_MAE - beta L_DAD^ss + tau L_DAD^st`` on
       fake images ``G(z)``, ``z ~ N(0, 1)`` (Eq. 3);
    2. segmentor (Eq. 12, 16): ``min L_TAR + alpha L_MAE + beta L_DAD^ss + gamma L_ADV``,
       L_TAR the MaxSquare loss (Eq. 2) on target images, L_ADV the IPSM loss of hard
       patches against the discriminator (Eq. 13-15);
    3. discriminator (Eq. 15): easy patches -> 0, hard -> 1.

    The frozen ``source_model`` (S~) never trains; the BN layers of the trained segmentor
    normalise fake batches with their own statistics without folding them into the running
    statistics (``update_bn_on_fake=False``), which stay those of the target domain.

    Args:
        segmentor (dict): the mmseg segmentor config (the source model's).
        source_checkpoint (str): the trained source model.
        generator (dict): the fake image generator.
        discriminator (dict): the conditional patch discriminator (IPSM).
        attention (dict): the dual attention module shared by both models (Eq. 8-10).
        loss_bns, loss_mae, loss_dad_ss, loss_dad_st, loss_target, loss_adv (dict): the
            losses of Eq. 4, 5, 6, 7, 2 and 15.
        alpha, beta, tau, gamma (float): the weights of Eq. 11 / 16.
        num_patches (int): K, patches per side for IPSM.
        feature_index (int): which backbone output the attention module reads.
        fake_batch_size (int, optional): fake images per step; the target batch size
            by default.
        use_ipsm (bool): False gives the paper's "w/o IPSM" ablation.
        transfer_only (bool): the paper's "transfer only": the segmentor starts from its
            own initialisation (not the source weights) and learns from the fake samples
            alone (no target loss, no IPSM).
        update_bn_on_fake (bool): let fake batches update the trained segmentor's BN
            running statistics.
        fake_seed (int): the noise of iteration ``i`` is drawn from a generator seeded
            with ``fake_seed + i``, so a resumed run sees the same fake samples as an
            uninterrupted one.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: str,
                 generator: ConfigType = dict(type='FakeImageGenerator'),
                 discriminator: OptConfigType = dict(
                     type='ConditionalPatchDiscriminator', num_classes=19, num_patches=16),
                 attention: ConfigType = dict(type='DualAttentionModule'),
                 loss_bns: ConfigType = dict(type='BNSLoss'),
                 loss_mae: ConfigType = dict(type='MAELoss'),
                 loss_dad_ss: ConfigType = dict(type='DADSelfLoss'),
                 loss_dad_st: ConfigType = dict(type='DADTransferLoss'),
                 loss_target: ConfigType = dict(type='MaxSquareLoss'),
                 loss_adv: ConfigType = dict(type='PatchAdversarialLoss'),
                 alpha: float = 1.0,
                 beta: float = 0.5,
                 tau: float = 0.5,
                 gamma: float = 0.01,
                 num_patches: int = 4,
                 feature_index: int = -1,
                 fake_batch_size: Optional[int] = None,
                 use_ipsm: bool = True,
                 transfer_only: bool = False,
                 update_bn_on_fake: bool = False,
                 fake_seed: int = 0,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(
            segmentor,
            source_checkpoint=source_checkpoint,
            with_source_model=True,
            load_source_into_segmentor=not transfer_only,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.use_ipsm = use_ipsm and not transfer_only
        self.transfer_only = transfer_only
        self.generator = MODELS.build(generator)
        if self.use_ipsm:
            if discriminator is None:
                raise ValueError('SFDASegmentor: use_ipsm=True needs a discriminator')
            self.discriminator = MODELS.build(discriminator)
            expected = num_patches * num_patches
            if getattr(self.discriminator, 'num_patches', expected) != expected:
                raise ValueError(
                    f'SFDASegmentor: discriminator.num_patches='
                    f'{self.discriminator.num_patches} but num_patches={num_patches} '
                    f'gives K*K={expected} patch positions')
        self.attention = MODELS.build(attention)
        self.loss_bns = MODELS.build(loss_bns).attach(self.source_model)
        self.loss_mae = MODELS.build(loss_mae)
        self.loss_dad_ss = MODELS.build(loss_dad_ss)
        self.loss_dad_st = MODELS.build(loss_dad_st)
        self.loss_target = MODELS.build(loss_target)
        self.loss_adv = MODELS.build(loss_adv)
        self.alpha, self.beta, self.tau, self.gamma = alpha, beta, tau, gamma
        self.num_patches = num_patches
        self.feature_index = feature_index
        self.fake_batch_size = fake_batch_size
        self.update_bn_on_fake = update_bn_on_fake
        self.fake_seed = fake_seed

    # ------------------------------------------------------------------ pieces
    def _on_fake(self, model, fake: Tensor) -> Tuple[Tensor, Tensor]:
        """Features and logits of the trained segmentor on fake images (its BN running
        statistics untouched by default). ``model`` is the (possibly DDP-wrapped)
        segmentor when its gradients are wanted, the bare module otherwise."""
        if self.update_bn_on_fake:
            return self.features_and_logits(model, fake, self.feature_index)
        with frozen_bn_statistics(self.unwrap(model)):
            return self.features_and_logits(model, fake, self.feature_index)

    def _fake_images(self, batch: int, like: Tensor) -> Tensor:
        """G(z) through the (possibly wrapped) generator's forward.

        z of iteration ``i`` on rank ``r`` of ``w`` comes from an RNG seeded with
        ``fake_seed + i * w + r``: resume-exact, and different on every rank.
        """
        rank, world_size = get_dist_info()
        rng = torch.Generator(device=like.device).manual_seed(
            self.fake_seed + self.current_iter() * world_size + rank)
        return self.generator(self.unwrap(self.generator).draw_noise(batch, rng))

    def _target_attention(self, target: Tensor, size) -> object:
        """Target attention maps for Eq. 7 (no gradient; BN statistics untouched)."""
        segmentor = self.unwrap(self.segmentor)
        with torch.no_grad(), frozen_bn_statistics(segmentor):
            feat, _ = self.features_and_logits(segmentor, target, self.feature_index)
            return self.attention(feat, output_size=size)

    # ------------------------------------------------------------------- steps
    def _generator_step(self, target: Tensor, optim_wrapper: OptimWrapperDict,
                        log: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Eq. 11; returns what the segmentor step reuses (fake images, S~ outputs)."""
        wrapper = optim_wrapper['generator']
        batch = self.fake_batch_size or target.shape[0]
        # the segmentor only relays gradients to G here: its bare module, outside DDP
        segmentor = self.unwrap(self.segmentor)
        set_requires_grad(segmentor, False)
        try:
            with wrapper.optim_context(self.generator):
                fake = self._fake_images(batch, target)
                src_feat, src_logits = self.features_and_logits(
                    self.source_model, fake, self.feature_index)
                loss_bns = self.loss_bns()
                feat, logits = self._on_fake(segmentor, fake)
                src_maps = self.attention(src_feat)
                loss_mae = self.loss_mae(logits, src_logits)
                loss_dad_ss = self.loss_dad_ss(src_maps, self.attention(feat))
                tgt_maps = self._target_attention(target, src_feat.shape[-2:])
                loss_dad_st = self.loss_dad_st(src_maps, tgt_maps)
                loss = (loss_bns - self.alpha * loss_mae - self.beta * loss_dad_ss +
                        self.tau * loss_dad_st)
            wrapper.update_params(loss)
        finally:
            set_requires_grad(segmentor, True)
        log.update({
            'gen.loss_bns': loss_bns.detach(), 'gen.loss_mae': loss_mae.detach(),
            'gen.loss_dad_ss': loss_dad_ss.detach(),
            'gen.loss_dad_st': loss_dad_st.detach(), 'gen.loss': loss.detach()
        })
        return dict(fake=fake.detach(), src_logits=src_logits.detach(),
                    src_dual=src_maps.dual.detach())

    def _ipsm_split(self, prob: Tensor) -> Tuple[Tensor, Tensor]:
        """Patches (B, K*K, C, h, w) of the target prediction and the easy mask (Eq. 13-14)."""
        patches = split_patches(prob, self.num_patches)
        with torch.no_grad():
            easy, _ = rank_easy_hard(patch_entropy(patches))
        return patches, easy

    @staticmethod
    def _discriminate(discriminator, patches: Tensor) -> Tensor:
        """Discriminator logits (B, K*K) of every patch, conditioned on its position."""
        b, kk = patches.shape[:2]
        index = torch.arange(kk, device=patches.device).repeat(b)
        return discriminator(patches.flatten(0, 1), index).view(b, kk)

    def _segmentor_step(self, target: Tensor, transfer: Dict[str, Tensor],
                        optim_wrapper: OptimWrapperDict,
                        log: Dict[str, Tensor]) -> Optional[Tuple[Tensor, Tensor]]:
        """Eq. 12 / 16; returns the IPSM patches and easy mask for the D step."""
        wrapper = optim_wrapper['segmentor']
        ipsm = None
        with wrapper.optim_context(self.segmentor):
            feat, logits = self._on_fake(self.segmentor, transfer['fake'])
            loss_mae = self.loss_mae(logits, transfer['src_logits'])
            loss_dad_ss = self.loss_dad_ss(transfer['src_dual'], self.attention(feat).dual)
            loss = self.alpha * loss_mae + self.beta * loss_dad_ss
            log.update({'seg.loss_mae': loss_mae.detach(),
                        'seg.loss_dad_ss': loss_dad_ss.detach()})
            if not self.transfer_only:
                tgt_logits = self.upsample_like(self.logits(self.segmentor, target), target)
                loss_tar = self.loss_target(tgt_logits)
                loss = loss + loss_tar
                log['seg.loss_target'] = loss_tar.detach()
                if self.use_ipsm:
                    patches, easy = self._ipsm_split(tgt_logits.softmax(dim=1))
                    # D only relays gradients to the segmentor: its bare module
                    discriminator = self.unwrap(self.discriminator)
                    set_requires_grad(discriminator, False)
                    try:
                        loss_adv = self.loss_adv(self._discriminate(discriminator, patches),
                                                 easy, mode='generator')
                    finally:
                        set_requires_grad(discriminator, True)
                    loss = loss + self.gamma * loss_adv
                    log['seg.loss_adv'] = loss_adv.detach()
                    ipsm = (patches.detach(), easy)
        wrapper.update_params(loss)
        log['seg.loss'] = loss.detach()
        return ipsm

    def _discriminator_step(self, patches: Tensor, easy: Tensor,
                            optim_wrapper: OptimWrapperDict,
                            log: Dict[str, Tensor]) -> None:
        """Eq. 15 for D: easy patches -> 0, hard -> 1."""
        wrapper = optim_wrapper['discriminator']
        with wrapper.optim_context(self.discriminator):
            logits = self._discriminate(self.discriminator, patches)
            loss = self.loss_adv(logits, easy, mode='discriminator')
        wrapper.update_params(loss)
        with torch.no_grad():
            acc = ((logits > 0) == ~easy).float().mean() * 100
        log.update({'disc.loss_adv': loss.detach(), 'disc.acc': acc})

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Generator, segmentor, then discriminator (Eq. 11, 16, 15)."""
        data = self.data_preprocessor(data, True)
        target = data['inputs']
        log: Dict[str, Tensor] = {}
        transfer = self._generator_step(target, optim_wrapper, log)
        ipsm = self._segmentor_step(target, transfer, optim_wrapper, log)
        if ipsm is not None:
            self._discriminator_step(*ipsm, optim_wrapper, log)
        return log
