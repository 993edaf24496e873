"""SIM: stuff and instance matching (Wang et al., "Differential Treatment for Stuff and
Things", CVPR 2020), on top of AdaptSegNet's output-space adversarial training."""
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix
from torch import Tensor, nn

from ..utils import DeferredBNUpdate
from ..utils.requirements import Requirement, num_backbone_outputs
from ..utils.sim_features import stuff_class_means, thing_instance_features
from .adapt_seg_net_segmentor import AdaptSegNetSegmentor

#: Cityscapes train ids of the stuff (background) classes of SIM (Sec. 6.2 and its code's
#: BG_LABEL): road, sidewalk, building, wall, fence, vegetation, terrain, sky. The
#: other classes are things (FG_LABEL).
SIM_STUFF_CLASSES = (0, 1, 2, 3, 4, 8, 9, 10)
FEATURE_SOURCES = ('backbone', 'head')
MATCHING_LABELS = ('augmented', 'prediction', 'pseudo')
CLASSIFIER_CHECKS = ('source', 'target_stuff', 'target_things')


@MODELS.register_module()
class SIMSegmentor(AdaptSegNetSegmentor):
    """Stuff and instance matching (SIM) with output-space adversarial training.

    Reads :class:`DomainPairDataset` batches. One ``train_step`` is AdaptSegNet's
    (segmentor, then discriminator, see :class:`AdaptSegNetSegmentor`) with the SIM terms
    added to the segmentor's loss:

    - step 1 (Eq. 12): ``L_seg^S + lambda_adv L_adv + lambda_ci (L_stf + L_ins)``;
    - step 2 (Eq. 13): ``+ target_weight L_seg^T`` (Eq. 10), the segmentor's own decode
      (and auxiliary) head loss on the target pseudo labels (``gt_sem_seg`` of the target
      items, written by ``PseudoLabelHook`` with ``policy=dict(type='median', cap=0.9)``
      and read by ``LoadPseudoLabel``), and the target stuff / things taken from the
      label map of ``matching_labels``.

    Memory banks (Eq. 4-5, 7, Alg. 1): after the source pass, the source features of the
    correctly classified pixels (ground truth == arg-max of the source logits, both at
    feature resolution, Eq. 4) give one mean per stuff class and image
    (``stuff_bank``, ``w`` slots per class) and one mean per connected region of each
    thing class, the ``max_instances`` (z = 10) largest per class and image
    (``instance_bank``, ``z * w`` slots). With ``classifier_check['source']`` (SIM's
    code) a pooled feature is stored only if the segmentor's classifier, applied to it,
    predicts its class. Banks are :class:`FeatureMemoryBank` sub-modules (checkpointed,
    gathered across ranks; one ``update_many`` per bank and step on every rank), written
    under ``torch.no_grad`` from detached features.

    Matching (Eq. 6, 8): the target features of each stuff class present in the target
    label map (class mean) and of each of the ``max_instances`` largest regions of each
    thing class are pulled (L1, ``loss_stuff`` / ``loss_instance``) to the nearest stored
    source feature of their class. The target label map is the arg-max of the target
    logits in step 1; in step 2 ``matching_labels``:

    - ``'augmented'`` (default; Eq. 11, the paper's step 2): the pseudo label where the
      pseudo label has a class, the prediction where it is ignored;
    - ``'prediction'``: the prediction only (what SIM's released ``train_sim_ssl.py``
      does: it never uses the pseudo labels for matching);
    - ``'pseudo'``: the pseudo labels only (a literal reading of Eq. 11, whose
      replacement covers every pixel where prediction and pseudo label differ, including
      the ignored ones).

    Order inside the segmentor step (DDP rule: passes that need gradients go through the
    possibly wrapped segmentor's forward): the target pass (``mode='tensor'``; features
    caught by a hook), the source pass (``mode='loss'``, last, so its graph holds every
    segmentor parameter), the bank update from the source pass, then the matching losses
    on the target features. So, as in SIM's code, the target of step ``i`` is matched
    against banks that already hold the source samples of step ``i``; nothing is matched
    at the first step (empty banks) and, with ``require_full`` (the losses' default,
    SIM's code), a class only once its bank is full.

    Args:
        segmentor (dict): the mmseg segmentor (SIM: single-level DeepLab-V2 ResNet-101).
        step (int): 1 (Eq. 12) or 2 (Eq. 13, with pseudo labels).
        discriminator (dict, optional): D on the softmax of the main output.
        discriminator_aux (dict, optional): D on the auxiliary output. Default None: SIM
            has one discriminator (Sec. 5.1).
        loss_adv (dict): the adversarial loss (source 0 / target 1).
        lambda_adv_main (float): weight of the adversarial loss (lambda_adv). Default
            0.001 (Sec. 5.1 and SIM's code ``LAMBDA_ADV_TARGET``; Sec. 6.2 also says 0.01).
        lambda_ci (float): weight of ``L_stf + L_ins`` (logged apart, each times
            lambda_ci: ``seg.loss_stuff`` / ``seg.loss_instance``). Default 0.01 (Table 3,
            SIM's ``train_sim.py``; its ``train_sim_ssl.py`` uses 0.001 in step 2).
        stuff_classes (Sequence[int]): stuff class ids (SIM: road, sidewalk, building,
            wall, fence, vegetation, terrain, sky).
        thing_classes (Sequence[int], optional): thing class ids; default every other
            class.
        feature_source (str): which features are matched: ``'backbone'`` (default, the
            paper: res5, the ASPP classifier's input) takes ``extract_feat(x)
            [feature_index]`` (the neck's outputs if the segmentor has a neck);
            ``'head'`` takes the input of the decode head's ``conv_seg`` (the
            penultimate feature of heads with a bottleneck, e.g. DeepLabV3's ASPP output).
        feature_index (int): index into the ``extract_feat`` outputs. Default -1.
        stuff_bank (dict): :class:`FeatureMemoryBank` of the stuff classes; ``size`` is w
            (50, Table 4); ``dim`` defaults to the feature's channels (known when
            ``feature_source='head'`` or ``feature_index`` is the decode head's input),
            ``class_ids`` to ``stuff_classes``.
        instance_bank (dict): the same for thing instances; ``size`` z * w = 500.
        loss_stuff (dict): Eq. 6 (:class:`StuffMatchingLoss`).
        loss_instance (dict): Eq. 8 (:class:`InstanceMatchingLoss`).
        max_instances (int): z, the largest regions per class and image stored (Alg. 1)
            and matched (Sec. 6.2). Default 10.
        connectivity (int): 8 (SIM's code, skimage ``connectivity=2``) or 4.
        classifier_check (dict): where a pooled feature is used only if the classifier
            re-predicts its class: ``source`` (bank writes), ``target_stuff``,
            ``target_things``. Default as SIM's code: True, True, False.
        target_weight (float): weight of the target pseudo-label loss in step 2
            (lambda_seg = 1).
        matching_labels (str): step 2's target label map for matching (see above).
        reinitialize (bool): step 2 as the paper and SIM's code ("we reinitialize and
            repeat the training process"): the segmentor starts from its own
            initialisation (ImageNet), ``source_checkpoint`` (the step-1 model) is loaded
            into a frozen ``source_model`` copy only, which labels the target set
            (``PseudoLabelHook(model='source_model')``). False: the segmentor starts from
            ``source_checkpoint`` (and ``PseudoLabelHook(model='segmentor')`` labels with
            it at round 0).
        source_checkpoint (str, optional): the model to start from (step 1: a source
            model or None for ImageNet weights, as the paper; step 2: the step-1 model).
        **kwargs: other :class:`AdaptSegNetSegmentor` arguments (``lambda_adv_aux``,
            ``input_mode``, ``use_adversarial``, ``loss_target`` ...).
    """

    requirements = AdaptSegNetSegmentor.requirements + (
        Requirement(
            'feature_layer', 'the matched feature map: extract_feat(x)[feature_index] '
            "(feature_source='backbone') or the input of decode_head.conv_seg "
            "(feature_source='head'), with known channels to size the memory banks",
            "feature_source='head' (any head with one conv_seg classifier), or give "
            'stuff_bank.dim and instance_bank.dim'),
        Requirement(
            'classifier_on_features', 'a decode head that classifies pooled features of '
            "the one level feature_index alone (classifier_check with feature_source="
            "'backbone' re-predicts them with the whole head)",
            "feature_source='head' (re-predicts with conv_seg only), or "
            'classifier_check=dict(source=False, target_stuff=False, target_things=False)'),
    )

    def __init__(self,
                 segmentor: ConfigType,
                 step: int = 1,
                 discriminator: OptConfigType = dict(type='FCDiscriminator', num_classes=19),
                 discriminator_aux: OptConfigType = None,
                 loss_adv: ConfigType = dict(type='AdversarialLoss'),
                 lambda_adv_main: float = 0.001,
                 lambda_ci: float = 0.01,
                 stuff_classes: Sequence[int] = SIM_STUFF_CLASSES,
                 thing_classes: Optional[Sequence[int]] = None,
                 feature_source: str = 'backbone',
                 feature_index: int = -1,
                 stuff_bank: ConfigType = dict(type='FeatureMemoryBank', size=50),
                 instance_bank: ConfigType = dict(type='FeatureMemoryBank', size=500),
                 loss_stuff: ConfigType = dict(type='StuffMatchingLoss'),
                 loss_instance: ConfigType = dict(type='InstanceMatchingLoss'),
                 max_instances: int = 10,
                 connectivity: int = 8,
                 classifier_check: Optional[Dict[str, bool]] = None,
                 target_weight: float = 1.0,
                 matching_labels: str = 'augmented',
                 reinitialize: bool = False,
                 source_checkpoint: Optional[str] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 **kwargs) -> None:
        if step not in (1, 2):
            raise ValueError(f'SIMSegmentor: step must be 1 or 2, got {step!r}')
        if feature_source not in FEATURE_SOURCES:
            raise ValueError(f'SIMSegmentor: feature_source must be one of '
                             f'{FEATURE_SOURCES}, got {feature_source!r}')
        if matching_labels not in MATCHING_LABELS:
            raise ValueError(f'SIMSegmentor: matching_labels must be one of '
                             f'{MATCHING_LABELS}, got {matching_labels!r}')
        if reinitialize and source_checkpoint is None:
            raise ValueError('SIMSegmentor: reinitialize=True trains a fresh segmentor '
                             'and labels the target set with the model of '
                             'source_checkpoint= (the step-1 model); give it')
        checks = dict(source=True, target_stuff=True, target_things=False)
        unknown = set(classifier_check or {}) - set(CLASSIFIER_CHECKS)
        if unknown:
            raise ValueError(f'SIMSegmentor: classifier_check keys are '
                             f'{CLASSIFIER_CHECKS}, got {sorted(unknown)}')
        checks.update(classifier_check or {})
        super().__init__(
            segmentor,
            discriminator=discriminator,
            discriminator_aux=discriminator_aux,
            loss_adv=loss_adv,
            lambda_adv_main=lambda_adv_main,
            source_checkpoint=source_checkpoint,
            with_source_model=reinitialize,
            load_source_into_segmentor=not reinitialize,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            **kwargs)
        self.step = step
        self.lambda_ci = lambda_ci
        self.target_weight = target_weight
        self.matching_labels = matching_labels
        self.reinitialize = reinitialize
        self.feature_source = feature_source
        self.feature_index = feature_index
        self.max_instances = max_instances
        self.connectivity = connectivity
        self.classifier_check = checks

        head = self.segmentor.decode_head
        num_classes = head.num_classes
        self.ignore_index = head.ignore_index
        self.stuff_classes = self._check_classes(stuff_classes, num_classes, 'stuff')
        if thing_classes is None:
            thing_classes = [c for c in range(num_classes) if c not in self.stuff_classes]
        self.thing_classes = self._check_classes(thing_classes, num_classes, 'thing')
        overlap = sorted(set(self.stuff_classes) & set(self.thing_classes))
        if overlap:
            raise ValueError(f'SIMSegmentor: classes {overlap} are both stuff and things')
        conv_seg = getattr(head, 'conv_seg', None)
        if feature_source == 'head' and (not isinstance(conv_seg, nn.Module)
                                         or isinstance(conv_seg, nn.ModuleList)):
            raise self.unmet(
                'feature_layer', f"feature_source='head' catches the input of the decode "
                f"head's conv_seg, but {type(head).__name__}.conv_seg is not a module "
                "called once per forward (DeepLabV2Head classifies the backbone feature "
                "directly: use feature_source='backbone')")
        if feature_source == 'backbone' and any(checks.values()) and getattr(
                head, 'input_transform', None) is not None:
            raise self.unmet(
                'classifier_on_features', f'{type(head).__name__} merges several levels '
                f'(input_transform={head.input_transform!r})')
        self.stuff_bank = self._build_bank(stuff_bank, self.stuff_classes, 'stuff_bank')
        self.instance_bank = self._build_bank(instance_bank, self.thing_classes,
                                              'instance_bank')
        if feature_source == 'backbone' and any(checks.values()):
            self._probe_classifier(self.stuff_bank.dim)
        self.loss_stuff = MODELS.build(loss_stuff)
        self.loss_instance = MODELS.build(loss_instance)

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _check_classes(classes: Sequence[int], num_classes: int, kind: str) -> List[int]:
        classes = [int(c) for c in classes]
        bad = [c for c in classes if not 0 <= c < num_classes]
        if bad or len(set(classes)) != len(classes):
            raise ValueError(f'SIMSegmentor: {kind}_classes must be distinct ids in '
                             f'[0, {num_classes}), got {classes}')
        return classes

    def _feature_dim(self) -> Optional[int]:
        """Channels of the matched feature, when the config tells them."""
        head = self.segmentor.decode_head
        if self.feature_source == 'head':
            return getattr(head.conv_seg, 'in_channels', None)
        in_channels = head.in_channels
        if isinstance(in_channels, int) and self.feature_index in (head.in_index, -1):
            return in_channels
        return None

    def _build_bank(self, cfg: ConfigType, classes: List[int], name: str) -> nn.Module:
        cfg = dict(cfg)
        cfg.setdefault('class_ids', classes)
        if cfg.get('dim') is None:
            dim = self._feature_dim()
            if dim is None:
                raise self.unmet('feature_layer', f'{name}.dim is not given and cannot be '
                                 'read from the decode head for feature_index='
                                 f'{self.feature_index}')
            cfg['dim'] = dim
        return MODELS.build(cfg)

    def _probe_classifier(self, dim: int) -> None:
        """Run the classifier of ``classifier_check`` once on pooled zeros of ``dim``
        channels, so a head that reads other inputs fails here with the fix, not with a
        channel mismatch from inside it at the first step (e.g. DeepLabV3+'s head also
        reads level 0)."""
        head = self.segmentor.decode_head
        levels = num_backbone_outputs(self.segmentor)
        if levels is not None and isinstance(head.in_index, int) and \
                self.feature_index % levels != head.in_index % levels:
            raise self.unmet(
                'classifier_on_features', f'feature_index={self.feature_index} is not the '
                f'decode head\'s input (in_index={head.in_index} of {levels} levels)')
        try:
            with torch.no_grad():
                out = self._classifier()(torch.zeros(2, dim, 1, 1))
        except (RuntimeError, ValueError, IndexError, TypeError) as err:
            raise self.unmet(
                'classifier_on_features', f'{type(self.segmentor.decode_head).__name__} '
                f'fails on pooled {dim}-channel features of feature_index='
                f'{self.feature_index} ({type(err).__name__}: {str(err)[:160]})') from None
        num_classes = self.segmentor.decode_head.num_classes
        if out.dim() != 4 or out.shape[1] != num_classes:
            raise self.unmet(
                'classifier_on_features', f'the head returns {tuple(out.shape)} for pooled '
                f'features, not (N, {num_classes}, h, w)')

    # ------------------------------------------------------------ features
    @contextmanager
    def _catch_features(self) -> Iterator[Dict[str, object]]:
        """Record the ``extract_feat`` outputs (and, for ``feature_source='head'``, the
        input of the decode head's ``conv_seg``) of the passes run inside."""
        inner = self.unwrap(self.segmentor)
        caught: Dict[str, object] = {}
        source = inner.neck if getattr(inner, 'with_neck', False) else inner.backbone
        handles = [source.register_forward_hook(
            lambda _m, _i, out: caught.__setitem__('levels', out))]
        if self.feature_source == 'head':
            handles.append(inner.decode_head.conv_seg.register_forward_pre_hook(
                lambda _m, args: caught.__setitem__('head', args[0])))
        try:
            yield caught
        finally:
            for handle in handles:
                handle.remove()

    def _levels(self, caught: Dict[str, object]) -> List[Tensor]:
        levels = caught['levels']
        return list(levels) if isinstance(levels, (list, tuple)) else [levels]

    def _feature(self, caught: Dict[str, object]) -> Tensor:
        if self.feature_source == 'head':
            return caught['head']
        levels = self._levels(caught)
        if any(self.classifier_check.values()):
            head = self.unwrap(self.segmentor).decode_head
            n = len(levels)
            if self.feature_index % n != head.in_index % n:
                raise ValueError(
                    f'SIMSegmentor: feature_index={self.feature_index} is not the decode '
                    f"head's input (in_index={head.in_index} of {n} levels), so the "
                    'classifier cannot re-predict pooled features: match the head\'s '
                    'input or set every classifier_check entry to False')
        return levels[self.feature_index]

    def _classifier(self) -> Callable[[Tensor], Tensor]:
        """The segmentor's classifier applied to pooled features ``(N, C, 1, 1)``, with
        the head in eval mode (no dropout, BN statistics untouched); SIM's code applies
        its ASPP classifier (``layer6``) in the same way."""
        head = self.unwrap(self.segmentor).decode_head
        if self.feature_source == 'head':
            run = head.cls_seg
        else:
            copies = abs(head.in_index) + 1  # any list that in_index can index

            def run(x: Tensor) -> Tensor:
                return head.forward([x] * copies)

        def classify(x: Tensor) -> Tensor:
            was_training = head.training
            head.eval()
            try:
                return run(x)
            finally:
                head.train(was_training)

        return classify

    def _target_forward(self, inputs: Tensor,
                        need_aux: bool) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Matched features, main and (if needed) auxiliary logits of the target batch,
        at feature resolution, from one pass through the (possibly wrapped) segmentor."""
        with self._catch_features() as caught:
            main = self.logits(self.segmentor, inputs)
        aux = None
        if need_aux:
            aux = self.unwrap(self.segmentor).auxiliary_head(caught['levels'])
        return self._feature(caught), main, aux

    # ------------------------------------------------------------- SIM parts
    @staticmethod
    def _labels(data_samples: SampleList, what: str) -> Tensor:
        if not all('gt_sem_seg' in s for s in data_samples):
            raise ValueError(
                f'SIMSegmentor: the {what} items have no gt_sem_seg; ' +
                ('step 2 reads the pseudo labels written by PseudoLabelHook: add '
                 "dict(type='LoadPseudoLabel') to the target pipeline and the hook to "
                 'custom_hooks' if what == 'target' else 'the source needs labels'))
        return torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long()

    @torch.no_grad()
    def update_banks(self, feat: Tensor, labels: Tensor, logits: Tensor) -> None:
        """Store the source samples of correctly classified pixels (Eq. 4-5, 7, Alg. 1).

        One ``update_many`` per bank (a collective under distributed training, made
        with empty tensors when there is nothing to store)."""
        feat = feat.detach()
        classifier = self._classifier() if self.classifier_check['source'] else None
        means, classes, _ = stuff_class_means(
            feat, labels, self.stuff_classes, self.ignore_index, pred=logits.detach(),
            classifier=classifier)
        self.unwrap(self.stuff_bank).update_many(classes, means)
        inst, classes, _ = thing_instance_features(
            feat, labels, self.thing_classes, self.max_instances, self.ignore_index,
            pred=logits.detach(), classifier=classifier, connectivity=self.connectivity)
        self.unwrap(self.instance_bank).update_many(classes, inst)

    def matching_label_map(self, logits: Tensor,
                           data_samples: Optional[SampleList] = None) -> Tensor:
        """The target label map whose stuff and things are matched, at the logits'
        resolution: the prediction (step 1), Eq. 11's augmented map or the pseudo labels
        (step 2, ``matching_labels``)."""
        pred = logits.detach().argmax(dim=1)
        if self.step == 1 or self.matching_labels == 'prediction':
            return pred
        pseudo = self._labels(data_samples, 'target')[:, None].float()
        pseudo = F.interpolate(pseudo, size=pred.shape[-2:], mode='nearest')[:, 0].long()
        pseudo = pseudo.to(pred.device)
        if self.matching_labels == 'pseudo':
            return pseudo
        return torch.where(pseudo != self.ignore_index, pseudo, pred)

    def matching_losses(self, feat: Tensor, label: Tensor) -> Tuple[Tensor, Tensor]:
        """Eq. 6 and Eq. 8 of the target features against the banks."""
        num_images = feat.shape[0]
        checks = self.classifier_check
        classifier = self._classifier() if (checks['target_stuff'] or
                                            checks['target_things']) else None
        means, classes, images = stuff_class_means(
            feat, label, self.stuff_classes, self.ignore_index,
            classifier=classifier if checks['target_stuff'] else None)
        loss_stuff = self.loss_stuff(means, classes, self.unwrap(self.stuff_bank), images,
                                     num_images=num_images)
        inst, classes, images = thing_instance_features(
            feat, label, self.thing_classes, self.max_instances, self.ignore_index,
            classifier=classifier if checks['target_things'] else None,
            connectivity=self.connectivity)
        loss_instance = self.loss_instance(inst, classes, self.unwrap(self.instance_bank),
                                           images, num_images=num_images)
        return loss_stuff, loss_instance

    def _target_seg_losses(self, main: Tensor, aux: Optional[Tensor],
                           data_samples: SampleList) -> Dict[str, Tensor]:
        """Eq. 10: the decode (and auxiliary) head losses on the pseudo labels."""
        self._labels(data_samples, 'target')  # a clear error without pseudo labels
        inner = self.unwrap(self.segmentor)
        losses = add_prefix(inner.decode_head.loss_by_feat(main, data_samples), 'decode')
        if aux is not None:
            losses.update(add_prefix(inner.auxiliary_head.loss_by_feat(aux, data_samples),
                                     'aux'))
        return losses

    # ------------------------------------------------------------------- steps
    def segmentor_losses(self, batch: dict, relay: Dict[str, nn.Module],
                         target_bn: DeferredBNUpdate
                         ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Eq. 12 / 13 for the segmentor; and the detached discriminator inputs."""
        source, target = batch['source'], batch['target']
        has_aux_head = getattr(self.unwrap(self.segmentor), 'auxiliary_head',
                               None) is not None
        need_aux = self._needs_target_aux or (self.step == 2 and has_aux_head)
        # the target batch's BN update is applied after the source pass (target last,
        # as AdaptSegNet's code, which SIM's builds on); the source pass follows
        # bn_stats.track
        tgt = target['inputs']
        with target_bn.record():
            feat_t, main_t, aux_t = self._target_forward(tgt, need_aux)
        up = dict(main=self.upsample_like(main_t, tgt))
        if aux_t is not None:
            up['aux'] = self.upsample_like(aux_t, tgt)
        losses, d_inputs = self.adversarial_losses(up, relay, batch)  # Eq. 2
        losses.update(self.target_losses(up))  # optional MinEnt terms
        if self.step == 2:  # Eq. 10
            losses.update(self.prefixed_losses(
                self._target_seg_losses(main_t, aux_t, target['data_samples']), 'tgt.',
                self.target_weight))
        # the source pass last: its graph holds every segmentor parameter
        with self._catch_features() as caught:
            src_losses, src_logits = self.source_losses(source, ['main'] + list(
                level for level in relay if level != 'main'))
        losses.update(src_losses)
        # banks first (step i's source samples), then the target matching
        self.update_banks(self._feature(caught),
                          self._labels(source['data_samples'], 'source'),
                          src_logits['main'])
        loss_stuff, loss_instance = self.matching_losses(
            feat_t, self.matching_label_map(main_t, target['data_samples']))
        losses['seg.loss_stuff'] = self.lambda_ci * loss_stuff
        losses['seg.loss_instance'] = self.lambda_ci * loss_instance
        for name in ('stuff_bank', 'instance_bank'):
            bank = self.unwrap(getattr(self, name))
            losses[f'sim.{name}_filled'] = bank.valid.float().mean().detach()
        d_inputs.update(self.source_discriminator_inputs(
            {level: src_logits[level] for level in relay}, source))
        return losses, d_inputs
