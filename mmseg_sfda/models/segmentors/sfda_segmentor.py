"""SFDA (Liu, Zhang, Wang): source-free domain knowledge transfer + IPSM self-supervision."""
import warnings
from typing import Dict, Optional, Tuple

import torch
from mmengine.dist import get_dist_info
from mmengine.optim import OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from ..utils import (borrowed_bn_statistics, frozen_bn_statistics, patch_entropy,
                     rank_easy_hard, split_patches)
from ..utils.requirements import (Requirement, describe_counts, norm_layer_counts,
                                  num_backbone_outputs)
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

#: below this share of BatchNorm among the source model's normalisation layers, BNS
#: constrains little of the network (e.g. SegFormer: BN in its head only): a warning
MIN_BN_SHARE = 0.5
#: how the trained segmentor normalises fake images (see ``fake_bn``)
FAKE_BN = ('source', 'batch')


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

    The frozen ``source_model`` (S~) never trains; the trained segmentor normalises fake
    batches with S~'s source running statistics (``fake_bn='source'``), as S~ does, and
    its own running statistics stay those of the target domain.

    Args:
        segmentor (dict): the mmseg segmentor config (the source model's).
        source_checkpoint (str): the trained source model.
        generator (dict): the fake image generator.
        discriminator (dict): the conditional patch discriminator (IPSM).
        attention (dict): the dual attention module shared by both models (Eq. 8-10).
        loss_bns, loss_mae, loss_dad_ss, loss_dad_st, loss_target, loss_adv (dict): the
            losses of Eq. 4, 5, 6, 7, 2 and 15. ``loss_mae`` averages over pixels
            (``reduction='dfad_mean'``): Sec. 4.4 (Table 5) reads the MAE as on the
            scale of the target loss (alpha close to 1), and MaxSquare is a pixel mean;
            the literal Eq. 5 (pixel sum / C, ``'paper'``) is H*W times larger.
        alpha, beta, tau, gamma (float): the weights of Eq. 11 / 16 (the losses' own
            ``loss_weight`` stay 1). Logged terms are weighted as they enter the sum:
            ``gen.loss_mae`` is ``-alpha L_MAE``, ``seg.loss_adv`` ``gamma L_ADV``.
        num_patches (int): K, patches per side for IPSM.
        feature_index (int): which backbone output the attention module reads.
        fake_batch_size (int, optional): fake images per step; the target batch size
            by default.
        use_ipsm (bool): False gives the paper's "w/o IPSM" ablation.
        transfer_only (bool): the paper's "transfer only": the segmentor starts from its
            own initialisation (not the source weights) and learns from the fake samples
            alone (no target loss, no IPSM).
        fake_bn (str): how the trained segmentor normalises fake images for MAE and
            DAD^ss: ``'source'`` (default) with the frozen copy's source running
            statistics, as the frozen copy itself does (like for like: the MAE is 0 at
            identical weights, and fakes, estimates of the source domain, get the
            source statistics: domain-specific BN); ``'batch'``: in train mode with the
            fake batch's statistics (DFAD's student; the MAE is then not 0 at
            identical weights, the frozen copy being in eval mode).
        update_bn_on_fake (bool): with ``fake_bn='batch'``, let fake batches update the
            trained segmentor's BN running statistics.
        fake_seed (int): the noise of iteration ``i`` is drawn from a generator seeded
            with ``fake_seed + i``, so a resumed run sees the same fake samples as an
            uninterrupted one.

    The BNS hooks go on the frozen copy's BN layers when training starts (first
    ``train_step``) and again whenever those layers were replaced: mmengine reverts
    SyncBN to new BN modules for a single-process run after the model is built.
    """

    requirements = (
        Requirement(
            'batch_norm', 'BatchNorm layers with running statistics in the source model '
            '(BNS, Eq. 4, matches the fake images to their statistics)',
            "a source model with norm_cfg=dict(type='BN') or SyncBN; for models without "
            'BN (LayerNorm / GroupNorm only) use a method that needs none (DAS3, CBST)'),
        Requirement(
            'feature_layer', 'a feature map extract_feat(x)[feature_index] (the dual '
            'attention module of the DAD losses, Eq. 6-10, reads it)',
            'set feature_index to one of the backbone outputs (its out_indices)'),
    )

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: str,
                 generator: ConfigType = dict(type='FakeImageGenerator'),
                 discriminator: OptConfigType = dict(
                     type='ConditionalPatchDiscriminator', num_classes=19, num_patches=16),
                 attention: ConfigType = dict(type='DualAttentionModule'),
                 loss_bns: ConfigType = dict(type='BNSLoss'),
                 loss_mae: ConfigType = dict(type='MAELoss', reduction='dfad_mean'),
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
                 fake_bn: str = 'source',
                 fake_seed: int = 0,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        super().__init__(
            segmentor,
            source_checkpoint=source_checkpoint,
            with_source_model=True,
            load_source_into_segmentor=not transfer_only,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            pretrained=pretrained,
            train_cfg=train_cfg, bn_stats=bn_stats)
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
        self._check_source_model(feature_index)
        self.loss_bns = MODELS.build(loss_bns)  # hooks: ensure_bns_hooks()
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
        if fake_bn not in FAKE_BN:
            raise ValueError(f'SFDASegmentor: fake_bn must be one of {FAKE_BN}, got '
                             f'{fake_bn!r}')
        self.fake_bn = fake_bn
        self.fake_seed = fake_seed

    def _check_source_model(self, feature_index: int) -> None:
        """The declared requirements, and a warning when BN is a small share of the
        source model's normalisation layers."""
        counts = norm_layer_counts(self.source_model)
        num_bn = counts.get('BatchNorm', 0)
        if not num_bn:
            raise self.unmet('batch_norm', f'{type(self.source_model).__name__} has '
                             f'{describe_counts(counts)}')
        num_norms = sum(counts.values())
        if num_bn < MIN_BN_SHARE * num_norms:
            backbone = getattr(self.source_model, 'backbone', None)
            in_backbone = '' if backbone is None else (
                f'; the backbone has {norm_layer_counts(backbone).get("BatchNorm", 0)}')
            warnings.warn(
                f'SFDASegmentor: BNS (Eq. 4) constrains the fake images through {num_bn} '
                f'BatchNorm layers only, of the source model\'s {num_norms} normalisation '
                f'layers ({describe_counts(counts)}){in_backbone}. The fake images are '
                'then weakly tied to the source domain.')
        levels = num_backbone_outputs(self.source_model)
        if levels is not None and not -levels <= feature_index < levels:
            raise self.unmet('feature_layer', f'feature_index={feature_index} but '
                             f'extract_feat returns {levels} feature maps')

    def ensure_bns_hooks(self) -> int:
        """Hook the frozen copy's current BN layers (again, if they were replaced);
        returns the number of hooked layers."""
        if not self.loss_bns.is_attached_to(self.source_model):
            self.loss_bns.attach(self.source_model)
        return self.loss_bns.num_hooked_layers

    # ------------------------------------------------------------------ pieces
    def _source_on_fake(self, fake: Tensor) -> Tuple[Tensor, Tensor]:
        """Features and logits of the frozen copy on fake images; a model that cannot
        take the generator's image size (e.g. SegFormer's spatial reduction below 32
        pixels) is named with the fix instead of a raw error from inside it."""
        try:
            return self.features_and_logits(self.source_model, fake, self.feature_index)
        except RuntimeError as err:
            size = tuple(fake.shape[-2:])
            raise RuntimeError(
                f'SFDASegmentor: the source model cannot take the fake images of '
                f'generator.out_size={size} ({str(err)[:200]}). Fix: a larger '
                'generator.out_size, e.g. the target crop size') from err

    def _on_fake(self, model, fake: Tensor) -> Tuple[Tensor, Tensor]:
        """Features and logits of the trained segmentor on fake images, normalised as
        ``fake_bn`` says (its running statistics untouched unless ``update_bn_on_fake``).
        ``model`` is the (possibly DDP-wrapped) segmentor when its gradients are wanted,
        the bare module otherwise."""
        if self.fake_bn == 'source':
            with borrowed_bn_statistics(self.unwrap(model), self.source_model):
                return self.features_and_logits(model, fake, self.feature_index)
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
        self.ensure_bns_hooks()
        wrapper = optim_wrapper['generator']
        batch = self.fake_batch_size or target.shape[0]
        # the segmentor only relays gradients to G here: its bare module, outside DDP
        with self.relaying_gradients(self.segmentor) as (segmentor, ):
            with wrapper.optim_context(self.generator):
                fake = self._fake_images(batch, target)
                src_feat, src_logits = self._source_on_fake(fake)
                losses = {'gen.loss_bns': self.loss_bns()}
                feat, logits = self._on_fake(segmentor, fake)
                src_maps = self.attention(src_feat)
                losses['gen.loss_mae'] = -self.alpha * self.loss_mae(logits, src_logits)
                losses['gen.loss_dad_ss'] = -self.beta * self.loss_dad_ss(
                    src_maps, self.attention(feat))
                tgt_maps = self._target_attention(target, src_feat.shape[-2:])
                losses['gen.loss_dad_st'] = self.tau * self.loss_dad_st(src_maps, tgt_maps)
                loss, gen_log = self.parse_step_losses(losses, 'gen.loss')
            wrapper.update_params(loss)
        log.update(gen_log)
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
            losses = {
                'seg.loss_mae': self.alpha * self.loss_mae(logits, transfer['src_logits']),
                'seg.loss_dad_ss': self.beta * self.loss_dad_ss(
                    transfer['src_dual'], self.attention(feat).dual)}
            if not self.transfer_only:
                tgt_logits = self.upsample_like(self.logits(self.segmentor, target), target)
                losses['seg.loss_target'] = self.loss_target(tgt_logits)
                if self.use_ipsm:
                    patches, easy = self._ipsm_split(tgt_logits.softmax(dim=1))
                    # D only relays gradients to the segmentor: its bare module
                    with self.relaying_gradients(self.discriminator) as (discriminator, ):
                        losses['seg.loss_adv'] = self.gamma * self.loss_adv(
                            self._discriminate(discriminator, patches), easy,
                            mode='generator')
                    ipsm = (patches.detach(), easy)
            loss, seg_log = self.parse_step_losses(losses, 'seg.loss')
        wrapper.update_params(loss)
        log.update(seg_log)
        return ipsm

    def _discriminator_step(self, patches: Tensor, easy: Tensor,
                            optim_wrapper: OptimWrapperDict,
                            log: Dict[str, Tensor]) -> None:
        """Eq. 15 for D: easy patches -> 0, hard -> 1."""
        wrapper = optim_wrapper['discriminator']
        with wrapper.optim_context(self.discriminator):
            logits = self._discriminate(self.discriminator, patches)
            with torch.no_grad():
                acc = ((logits > 0) == ~easy).float().mean() * 100
            loss, disc_log = self.parse_step_losses(
                {'disc.loss_adv': self.loss_adv(logits, easy, mode='discriminator'),
                 'disc.acc': acc}, 'disc.loss_adv')
        wrapper.update_params(loss)
        log.update(disc_log)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Generator, segmentor, then discriminator (Eq. 11, 16, 15)."""
        self.check_bn_stats_ready()
        data = self.data_preprocessor(data, True)
        target = data['inputs']
        log: Dict[str, Tensor] = {}
        transfer = self._generator_step(target, optim_wrapper, log)
        ipsm = self._segmentor_step(target, transfer, optim_wrapper, log)
        if ipsm is not None:
            self._discriminator_step(*ipsm, optim_wrapper, log)
        return log
