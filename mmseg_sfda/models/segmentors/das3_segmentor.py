"""DAS3 (Wang, Liang, Zhang): source-free adaptation in three stages."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils import class_mix, class_mix_mask, frozen_bn_statistics, set_requires_grad
from ..utils.requirements import Requirement
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

STAGES = ('a', 'b', 'c')
MIX_TARGETS = ('mix_of_predictions', 'prediction_of_mix')


@MODELS.register_module()
class DAS3Segmentor(DomainAdaptiveSegmentor):
    """One stage of DAS3 on unlabelled target images (the source data is never read).

    - stage ``'a'`` (implicit feature alignment): ``L_fel + L_div`` (Eq. 2, 3) on the
      target predictions with the classifier frozen (``freeze_classifier``).
    - stage ``'b'`` (bi-directional self-training, Eq. 8): cross-entropy on positive
      pseudo labels (class-level top-K, Eq. 4-5) plus the negative pseudo-label loss
      (Eq. 6-7). Both label kinds come from ``PseudoLabelHook`` (``policy=top_k``,
      ``negative_threshold=0.05``, ``model='source_model'``: the frozen copy of the
      stage-a model).
    - stage ``'c'`` (information propagation, Eq. 10): the easy images of the batch
      (the easiest ``ratio`` of the target set by mean entropy, Eq. 9, ranked by the
      hook) learn from their pseudo labels; pairs of hard images are ClassMixed and
      learn from the gradient-free model's prediction (``mix_target``).

    ``mix_target='mix_of_predictions'`` (default) labels ``Mix(x_i, x_j)`` with
    ``Mix(M'(x_i), M'(x_j))`` as ClassMix / DACS do; ``'prediction_of_mix'`` with
    ``M'(Mix(x_i, x_j))``, Eq. 10 as printed. The ClassMix mask takes half of the
    classes ``M'`` predicts in ``x_i`` (never the ignore label). Optional colour jitter
    and Gaussian blur (``strong_aug``) perturb the mixed images.

    The black-box variant is a stage-b or stage-c config with
    ``load_source_into_segmentor=False``: the source model only labels (through the
    hook), the trained model starts from its own initialisation.

    Args:
        segmentor (dict): the mmseg segmentor config.
        source_checkpoint (str): the model the stage starts from (the source model for
            stage a, the stage-a / stage-b result for b / c).
        stage (str): 'a', 'b' or 'c'.
        freeze_classifier (bool, optional): freeze ``decode_head.conv_seg``; True for
            stage a by default (the paper), False otherwise.
        load_source_into_segmentor (bool): False for the black-box variant.
        loss_focal, loss_diversity, loss_negative (dict): the losses of Eq. 2, 3, 7.
            The focal factor carries no gradient (``FocalEntropyLoss.detach_weight``).
        alpha (float): Eq. 2's alpha (0.002, Sec. 4.1), the weight of the focal term
            and of the diversity term: the information-maximisation loss it comes from
            ([28]) weights entropy and diversity alike; at weight 1 the diversity term
            is 1e3-1e4x the focal term, the reverse of Table 5 (focal +5.2 mIoU,
            diversity +0.4).
        mix_weight (float): weight of the ClassMix term of Eq. 10.
        mix_target (str): see above.
        strong_aug (dict, optional): ``dict(jitter=0.2, blur_sigma=(0.1, 2.0),
            blur_prob=0.5)`` on the mixed images.
        mix_seed (int): masks and augmentation of iteration ``i`` on rank ``r`` come
            from a generator seeded ``mix_seed + i * world_size + r`` (resume-exact).
    """

    requirements = (Requirement(
        'classifier', 'a decode head whose final classifier is decode_head.conv_seg '
        '(frozen in stage a, Sec. 3.2; x10 learning rate in stages b, c)',
        'a head built on mmseg\'s BaseDecodeHead (all stock heads are), or '
        'freeze_classifier=False'), )

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: str,
                 stage: str = 'a',
                 freeze_classifier: Optional[bool] = None,
                 load_source_into_segmentor: bool = True,
                 loss_focal: ConfigType = dict(type='FocalEntropyLoss'),
                 loss_diversity: ConfigType = dict(type='WeightedDiversityLoss'),
                 alpha: float = 0.002,
                 loss_negative: ConfigType = dict(type='NegativePseudoLabelLoss'),
                 mix_weight: float = 1.0,
                 mix_target: str = 'mix_of_predictions',
                 strong_aug: Optional[dict] = None,
                 mix_seed: int = 0,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        if stage not in STAGES:
            raise ValueError(f'DAS3Segmentor: stage must be one of {STAGES}, got {stage!r}')
        if mix_target not in MIX_TARGETS:
            raise ValueError(f'DAS3Segmentor: mix_target must be one of {MIX_TARGETS}, '
                             f'got {mix_target!r}')
        super().__init__(segmentor, source_checkpoint=source_checkpoint,
                         with_source_model=stage != 'a',
                         load_source_into_segmentor=load_source_into_segmentor,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         pretrained=pretrained, train_cfg=train_cfg, bn_stats=bn_stats)
        self.stage = stage
        self.freeze_classifier = stage == 'a' if freeze_classifier is None \
            else freeze_classifier
        if self.freeze_classifier and not isinstance(
                getattr(self.segmentor.decode_head, 'conv_seg', None), nn.Module):
            raise self.unmet('classifier', f'{type(self.segmentor.decode_head).__name__} '
                             'has no conv_seg module')
        if self.freeze_classifier:
            # before any DDP wrapping: frozen parameters are then not DDP's concern
            set_requires_grad(self.segmentor.decode_head.conv_seg, False)
        self.loss_focal = MODELS.build(loss_focal)
        self.loss_diversity = MODELS.build(loss_diversity)
        self.loss_negative = MODELS.build(loss_negative)
        self.alpha = alpha
        self.mix_weight = mix_weight
        self.mix_target = mix_target
        self.strong_aug = strong_aug
        self.mix_seed = mix_seed

    # ----------------------------------------------------------------- step
    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        self.check_bn_stats_ready()
        with optim_wrapper.optim_context(self.segmentor):
            data = self.data_preprocessor(data, True)
            inputs, samples = data['inputs'], data['data_samples']
            if self.stage == 'a':
                losses = self._alignment_losses(inputs)
            elif self.stage == 'b':
                losses = self._self_training_losses(inputs, samples)
            else:
                losses = self._propagation_losses(inputs, samples)
            loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def _target_logits(self, inputs: Tensor, model=None) -> Tensor:
        """Logits at the input size through ``model`` (default: the possibly wrapped
        segmentor, so DDP synchronises the pass)."""
        model = self.segmentor if model is None else model
        return self.upsample_like(self.logits(model, inputs), inputs)

    def _alignment_losses(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Stage a: alpha * (Eq. 2 + Eq. 3)."""
        logits = self._target_logits(inputs)
        return dict(loss_focal_entropy=self.alpha * self.loss_focal(logits),
                    loss_diversity=self.alpha * self.loss_diversity(logits))

    def _head_losses(self, logits: Tensor, samples: List[SegDataSample],
                     prefix: str, weight: float = 1.0) -> Dict[str, Tensor]:
        """The decode head's own loss (cross-entropy, ignore 255) against
        ``gt_sem_seg`` (the pseudo labels), its loss terms scaled by ``weight``."""
        head = self.unwrap(self.segmentor).decode_head
        return self.prefixed_losses(head.loss_by_feat(logits, samples), prefix, weight)

    def _self_training_losses(self, inputs: Tensor,
                              samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """Stage b: Eq. 5 (positive) + Eq. 7 (negative)."""
        self._require(samples, 'gt_negative_mask', "with_negative=True on LoadPseudoLabel "
                      "and negative_threshold on PseudoLabelHook")
        logits = self._target_logits(inputs)
        losses = self._head_losses(logits, samples, 'pos.')
        negative = torch.stack([s.gt_negative_mask.data for s in samples]).bool()
        losses['neg.loss_npl'] = self.loss_negative(logits, negative)
        return losses

    def _propagation_losses(self, inputs: Tensor,
                            samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """Stage c: Eq. 10 on the easy images and ClassMixed pairs of hard ones."""
        easy = torch.tensor([self._is_easy(s) for s in samples], device=inputs.device)
        easy_idx = easy.nonzero().flatten()
        hard_idx = (~easy).nonzero().flatten()
        batch = [inputs[easy_idx]]
        mixed = None
        if len(hard_idx) >= 2:
            mixed = self._class_mix(inputs[hard_idx])
            batch.append(mixed[0])
        logits = self._target_logits(torch.cat(batch))
        losses: Dict[str, Tensor] = {}
        n_easy = len(easy_idx)
        if n_easy:
            losses.update(self._head_losses(
                logits[:n_easy], [samples[i] for i in easy_idx.tolist()], 'easy.'))
        if mixed is not None:  # the head's own loss (deterministic on CUDA too)
            mix_samples = [SegDataSample(gt_sem_seg=PixelData(data=label[None]))
                           for label in mixed[1]]
            losses.update(self._head_losses(logits[n_easy:], mix_samples, 'mix.',
                                            self.mix_weight))
        if not losses:  # nothing to learn from in this batch; keep the graph
            losses['easy.loss_ce'] = logits.sum() * 0
        return losses

    # ------------------------------------------------------------ ClassMix
    def _rng(self, device) -> torch.Generator:
        rank, world_size = get_dist_info()
        return torch.Generator(device=device).manual_seed(
            self.mix_seed + self.current_iter() * world_size + rank)

    @torch.no_grad()
    def _predict(self, inputs: Tensor) -> Tensor:
        """``M'_t``: the trained model's arg-max, without gradient or BN update."""
        segmentor = self.unwrap(self.segmentor)
        with frozen_bn_statistics(segmentor):
            return self._target_logits(inputs, segmentor).argmax(dim=1)

    def _class_mix(self, hard: Tensor) -> Tuple[Tensor, Tensor]:
        """Mix hard image i with image i+1 (cyclically); returns images and targets."""
        rng = self._rng(hard.device)
        pred = self._predict(hard)
        partner = torch.roll(torch.arange(len(hard), device=hard.device), -1)
        masks = torch.stack([class_mix_mask(p, generator=rng) for p in pred])
        images = class_mix(hard, hard[partner], masks)
        if self.strong_aug is not None:
            images = self._augment(images, rng)
        if self.mix_target == 'mix_of_predictions':
            target = torch.where(masks, pred, pred[partner])
        else:
            target = self._predict(images)
        return images, target

    def _augment(self, images: Tensor, rng: torch.Generator) -> Tensor:
        """Colour jitter (brightness and contrast) and a random Gaussian blur."""
        cfg = dict(jitter=0.2, blur_sigma=(0.1, 2.0), blur_prob=0.5)
        cfg.update(self.strong_aug)
        b = images.shape[0]
        u = torch.rand(b, 3, generator=rng, device=images.device)
        scale = 1 + cfg['jitter'] * (2 * u[:, 0] - 1)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        out = (images - mean) * scale.view(b, 1, 1, 1) + mean + \
            cfg['jitter'] * (2 * u[:, 1] - 1).view(b, 1, 1, 1) * images.std()
        lo, hi = cfg['blur_sigma']
        for i in range(b):
            if float(u[i, 2]) < cfg['blur_prob']:
                sigma = lo + (hi - lo) * float(torch.rand(1, generator=rng,
                                                          device=images.device))
                out[i] = _gaussian_blur(out[i], sigma)
        return out

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _require(samples: List[SegDataSample], key: str, fix: str) -> None:
        if not all(key in s for s in samples):
            raise KeyError(f'DAS3Segmentor: the target samples carry no {key}; set {fix} '
                           '(and PackSegInputsWithExtras in the pipeline)')

    @staticmethod
    def _is_easy(sample: SegDataSample) -> bool:
        flag = sample.metainfo.get('pseudo_label_easy')
        if flag is None:
            raise KeyError('DAS3Segmentor stage c: the target samples do not say whether '
                           'they are easy or hard; set image_split on PseudoLabelHook and '
                           "add 'pseudo_label_easy' to PackSegInputsWithExtras' meta_keys")
        return bool(flag)


def _gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of one (C, H, W) image (reflect padding)."""
    radius = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-x ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = image.shape[0]
    img = image[None]
    img = F.conv2d(F.pad(img, (radius, radius, 0, 0), mode='reflect'),
                   kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    img = F.conv2d(F.pad(img, (0, 0, radius, radius), mode='reflect'),
                   kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return img[0]
