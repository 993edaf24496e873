"""The base of every adaptation method: an ordinary mmseg segmentor plus extra parts."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from torch import Tensor, nn


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

    Args:
        segmentor (dict): an ordinary mmseg segmentor config (EncoderDecoder ...).
        source_checkpoint (str, optional): the trained source model (an mmseg checkpoint
            or one of ours).
        with_source_model (bool): keep a frozen copy of the source model.
        load_source_into_segmentor (bool): start the segmentor from the source weights
            (False: from its own initialisation, e.g. SFDA's "transfer only").
        data_preprocessor (dict, optional): used only when the segmentor config has
            none (see :meth:`_data_preprocessor_cfg`).
    """

    def __init__(self,
                 segmentor: ConfigType,
                 source_checkpoint: Optional[str] = None,
                 with_source_model: bool = False,
                 load_source_into_segmentor: bool = True,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        segmentor = copy.deepcopy(segmentor)
        data_preprocessor = self._data_preprocessor_cfg(segmentor, data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # mmseg's EncoderDecoder writes into the config it is built from: one copy each
        self.segmentor = MODELS.build(
            _without_pretrained(segmentor) if source_checkpoint is not None
            and load_source_into_segmentor else copy.deepcopy(segmentor))
        self.source_checkpoint = source_checkpoint
        self.load_source_into_segmentor = load_source_into_segmentor
        if with_source_model:
            if source_checkpoint is None:
                raise ValueError(f'{type(self).__name__} needs source_checkpoint= (the '
                                 'trained source model) to build its frozen source copy')
            self.source_model = MODELS.build(_without_pretrained(segmentor))
            self.source_model.requires_grad_(False)
            self.source_model.eval()
        if source_checkpoint is not None and not osp.isfile(source_checkpoint) \
                and '://' not in source_checkpoint:
            raise FileNotFoundError(
                f'source_checkpoint not found: {source_checkpoint}. Train the source '
                'model first (configs/source_only/) or pass its path with --cfg-options '
                'model.source_checkpoint=PATH')

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
