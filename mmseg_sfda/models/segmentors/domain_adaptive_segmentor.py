"""The base of every adaptation method: an ordinary mmseg segmentor plus extra parts."""
import copy
import os.path as osp
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.models.losses import CrossEntropyLoss
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from torch import Tensor, nn

from ..utils import parameters_frozen
from ..utils.bn_stats_policy import BNStatsPolicy
from ..utils.requirements import Requirement, find_requirement, requirement_error


def _state_dict_of(checkpoint: dict) -> Dict[str, Tensor]:
    """The segmentor weights of an mmseg checkpoint or of one of ours (``segmentor.*``)."""
    state = checkpoint.get('state_dict', checkpoint)
    if any(k.startswith('segmentor.') for k in state):
        state = {k[len('segmentor.'):]: v for k, v in state.items()
                 if k.startswith('segmentor.')}
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def _without_pretrained(segmentor: ConfigType) -> ConfigType:
    """A copy of ``segmentor`` whose ImageNet initialisation is dropped: the source
    checkpoint replaces it, so it need not be fetched."""
    segmentor = copy.deepcopy(segmentor)
    segmentor['pretrained'] = None
    if isinstance(segmentor.get('backbone'), dict):
        segmentor['backbone']['init_cfg'] = None
    return segmentor


def average_ce_over_labelled(segmentor: nn.Module) -> None:
    """Make the segmentor's cross-entropy losses average over labelled pixels.

    mmseg's ``CrossEntropyLoss`` divides by every pixel by default
    (``avg_non_ignore=False``), so a pseudo label that leaves 35-80% of the pixels
    ignored scales its term by 0.2-0.65; the official codes (AdaptSegNet's
    ``CrossEntropy2d``, CBST, DAS3, SIM, PixIntraDA) average over labelled pixels.
    """
    for module in segmentor.modules():
        if isinstance(module, CrossEntropyLoss) and not module.use_sigmoid:
            module.avg_non_ignore = True


def check_compatible(state: Dict[str, Tensor], model: nn.Module, path: str) -> None:
    """Raise a clear error when ``state`` does not fit ``model`` (keys or shapes)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise KeyError(
            f'source_checkpoint {path} does not match the configured segmentor: '
            f'{len(missing)} keys missing from the checkpoint (e.g. {missing[:3]}), '
            f'{len(unexpected)} keys in the checkpoint the model lacks (e.g. '
            f'{unexpected[:3]}). Use the config the source model was trained with.')
    for key, value in own.items():
        if state[key].shape != value.shape:
            hint = ''
            if key.endswith('conv_seg.weight') or key.endswith('conv_seg.bias'):
                hint = (f' The checkpoint has {state[key].shape[0]} classes, the config '
                        f'{value.shape[0]}: set num_classes of the decode head to match.')
            raise ValueError(f'source_checkpoint {path}: {key} has shape '
                             f'{tuple(state[key].shape)} in the checkpoint but '
                             f'{tuple(value.shape)} in the configured segmentor.{hint}')


@MODELS.register_module()
class DomainAdaptiveSegmentor(BaseSegmentor):
    """Wrap an ordinary mmseg segmentor for domain adaptation.

    ``predict`` / ``_forward`` / ``extract_feat`` / ``loss`` delegate to ``self.segmentor``,
    so evaluation and inference are stock mmseg; methods subclass this and override
    ``train_step``. ``source_checkpoint`` is loaded into the segmentor (and into the frozen
    ``source_model`` copy when ``with_source_model``) once weights are initialised; a
    resumed run then restores its own weights over it.
    The wrapped segmentor's cross-entropy losses average over labelled pixels
    (``avg_non_ignore=True``, :func:`average_ce_over_labelled`), as the official codes do.

    Args:
        segmentor (dict): an ordinary mmseg segmentor config (EncoderDecoder ...).
        source_checkpoint (str, optional): the trained source model (an mmseg checkpoint
            or one of ours).
        with_source_model (bool): keep a frozen copy of the source model.
        load_source_into_segmentor (bool): start the segmentor from the source weights
            (False: from its own initialisation, e.g. SFDA's "transfer only").
        data_preprocessor (dict, optional): used only when the segmentor config has
            none (see :meth:`_data_preprocessor_cfg`).
        pretrained (str, optional), train_cfg (dict, optional): accepted as None (what
            ``mmseg.apis.init_model`` passes to every model); their settings belong to
            the wrapped ``segmentor``.
        bn_stats (dict, optional): the BatchNorm-statistics policy ``dict(init=
            'source'|'target', track='all'|'target', refresh=False|True)``, see
            :class:`~mmseg_sfda.models.utils.bn_stats_policy.BNStatsPolicy` (defaults:
            the source model's statistics, updated by every pass, no refresh).
    """

    #: what the method needs of the wrapped segmentor, checked when it is built
    #: (:meth:`unmet` makes the error; docs/mixing.md lists them)
    requirements: Tuple[Requirement, ...] = ()

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: Optional[str] = None,
                 with_source_model: bool = False,
                 load_source_into_segmentor: bool = True,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 bn_stats: Optional[dict] = None) -> None:
        for key, value in (('pretrained', pretrained), ('train_cfg', train_cfg)):
            if value:
                raise ValueError(
                    f'{type(self).__name__}: {key}={value!r} belongs to the wrapped mmseg '
                    f'model: set model.segmentor.{key} instead of model.{key}')
        segmentor = copy.deepcopy(segmentor)
        data_preprocessor = self._data_preprocessor_cfg(segmentor, data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # mmseg's EncoderDecoder writes into the config it is built from: one copy each
        self.segmentor = MODELS.build(
            _without_pretrained(segmentor) if source_checkpoint is not None
            and load_source_into_segmentor else copy.deepcopy(segmentor))
        self.source_checkpoint = source_checkpoint
        self.load_source_into_segmentor = load_source_into_segmentor
        self.bn_stats = BNStatsPolicy.build(bn_stats)
        average_ce_over_labelled(self.segmentor)
        #: set by BNStatsHook once the policy's initial statistics are in place
        self.bn_stats_ready = not self.bn_stats.needs_hook
        if with_source_model:
            if source_checkpoint is None:
                raise ValueError(f'{type(self).__name__} needs source_checkpoint= (the '
                                 'trained source model) to build its frozen source copy')
            self.source_model = MODELS.build(_without_pretrained(segmentor))
            self.source_model.requires_grad_(False)
            self.source_model.eval()
        # the file is read when training starts (init_weights), never at build: testing
        # or exporting an adapted checkpoint does not need the source model on disk

    def unmet(self, name: str, found: str) -> ValueError:
        """The error of the declared requirement ``name``, with what was ``found``."""
        return requirement_error(type(self).__name__,
                                 find_requirement(self.requirements, name), found)

    #: type of the wrapper's data preprocessor; None keeps the segmentor's own
    #: (UDA methods reading DomainPairDataset set 'DomainPairDataPreProcessor').
    data_preprocessor_type: Optional[str] = None

    @classmethod
    def _data_preprocessor_cfg(cls, segmentor: ConfigType,
                               data_preprocessor: OptConfigType) -> OptConfigType:
        """The segmentor's preprocessor settings (mean, std, size ...) win.

        mmengine's runner fills ``model.data_preprocessor`` with the config's top-level
        default (which has no crop ``size``), so the wrapper cannot tell a deliberate
        setting from that default: the segmentor's own ``data_preprocessor`` is used
        whenever it has one, so inference with the exported segmentor matches training.
        """
        cfg = segmentor.get('data_preprocessor') or data_preprocessor
        if cfg is not None and cls.data_preprocessor_type is not None:
            cfg = dict(copy.deepcopy(cfg), type=cls.data_preprocessor_type)
        return cfg

    # ------------------------------------------------------------------ weights
    @property
    def with_source_model(self) -> bool:
        return hasattr(self, 'source_model')

    def init_weights(self) -> None:
        super().init_weights()
        if self.source_checkpoint is not None:
            self.load_source_checkpoint(self.source_checkpoint)

    def load_source_checkpoint(self, path: str) -> None:
        """Load the source model into the segmentor and the frozen copy."""
        if not osp.isfile(path) and '://' not in path:
            raise FileNotFoundError(
                f'source_checkpoint not found: {path}. Train the source model first '
                '(configs/source_only/) or pass its path with --cfg-options '
                'model.source_checkpoint=PATH')
        state = _state_dict_of(_load_checkpoint(path, map_location='cpu'))
        segmentor = self.unwrap(self.segmentor)  # init_weights runs after DDP wrapping
        check_compatible(state, segmentor, path)
        if self.load_source_into_segmentor:
            segmentor.load_state_dict(state)
        if self.with_source_model:
            self.source_model.load_state_dict(state)
        print_log(f'loaded the source model from {path}', logger='current')

    def train(self, mode: bool = True) -> 'DomainAdaptiveSegmentor':
        super().train(mode)
        if self.with_source_model:
            self.source_model.eval()  # frozen: BN statistics never move
        return self

    @staticmethod
    def current_iter() -> int:
        """The runner's iteration (saved in checkpoints, so it survives a resume)."""
        return MessageHub.get_current_instance().get_info('iter', 0)

    # ------------------------------------------------------------ delegation
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.segmentor.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        return self.segmentor.encode_decode(inputs, batch_data_samples)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        return self.segmentor.loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        return self.segmentor.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.segmentor._forward(inputs, data_samples)

    @staticmethod
    def unwrap(module: nn.Module) -> nn.Module:
        """The module inside a DDP wrapper (the module itself when not wrapped)."""
        return module.module if is_model_wrapper(module) else module

    @staticmethod
    def logits(model: nn.Module, inputs: Tensor) -> Tensor:
        """Decode-head logits of ``model`` at the feature resolution (no resize).

        Goes through ``forward(mode='tensor')``, so a DDP-wrapped segmentor synchronises
        the gradients of this pass.
        """
        return model(inputs, None, 'tensor')

    def features_and_logits(self, model: nn.Module, inputs: Tensor,
                            feature_index: int = -1) -> Tuple[Tensor, Tensor]:
        """``extract_feat(inputs)[feature_index]`` and the logits, in one forward.

        The features are caught by a forward hook on the neck (or the backbone), so the
        pass itself is :meth:`logits` (DDP-safe).
        """
        inner = self.unwrap(model)
        source = inner.neck if getattr(inner, 'with_neck', False) else inner.backbone
        caught: List[Tensor] = []
        handle = source.register_forward_hook(lambda _m, _i, out: caught.append(out))
        try:
            logits = self.logits(model, inputs)
        finally:
            handle.remove()
        return caught[-1][feature_index], logits

    @staticmethod
    def upsample_like(logits: Tensor, inputs: Tensor) -> Tensor:
        return torch.nn.functional.interpolate(
            logits, size=inputs.shape[-2:], mode='bilinear', align_corners=False)

    # ------------------------------------------------------- losses and logs
    def parse_step_losses(self, losses: Dict[str, Tensor],
                          total: str = 'loss') -> Tuple[Tensor, Dict[str, Tensor]]:
        """mmengine's :meth:`parse_losses` for one update: the sum of every ``*loss*``
        entry of ``losses`` (each the weighted term as it enters the objective) and the
        detached log, the sum logged as ``total`` (e.g. ``'seg.loss'``)."""
        loss, log_vars = self.parse_losses(losses)
        log_vars = {k: v.detach() for k, v in log_vars.items()}
        log_vars[total] = log_vars.pop('loss')
        return loss, log_vars

    @staticmethod
    def prefixed_losses(losses: Dict[str, Tensor], prefix: str,
                        weight: float = 1.0) -> Dict[str, Tensor]:
        """``losses`` (e.g. an mmseg segmentor's ``loss``) renamed with ``prefix``; the
        loss terms (keys with ``'loss'``) scaled by ``weight``."""
        out = {}
        for key, value in losses.items():
            if weight != 1.0 and 'loss' in key:
                value = value * weight
            out[prefix + key] = value
        return out

    @contextmanager
    def relaying_gradients(self, *modules: nn.Module) -> Iterator[List[nn.Module]]:
        """The bare (unwrapped) ``modules`` with their parameters' gradients off: passes
        through them only relay gradients to what feeds them (a discriminator in the
        segmentor's step, the segmentor in a generator's step). Each parameter's own
        ``requires_grad`` flag is restored on exit (a parameter a config froze stays
        frozen); backward may run after the context (the graph holds no gradient for
        them)."""
        bare = [self.unwrap(module) for module in modules]
        with ExitStack() as stack:
            for module in bare:
                stack.enter_context(parameters_frozen(module))
            yield bare

    # --------------------------------------------------------- BN statistics
    def source_bn_context(self):
        """Wrap every train-mode pass on source images (``bn_stats.track``)."""
        return self.bn_stats.source_context(self.unwrap(self.segmentor))

    def check_bn_stats_ready(self) -> None:
        """Refuse to train when the policy needs ``BNStatsHook`` and it never ran."""
        if not self.bn_stats_ready:
            raise RuntimeError(
                f'{type(self).__name__}: bn_stats={self.bn_stats} needs the target '
                "statistics of BNStatsHook: add dict(type='BNStatsHook') to custom_hooks")
