"""Registries of mmseg-sfda's own component kinds (mmseg's registries hold the rest)."""
from mmengine.registry import Registry

# threshold-and-selection rules of PseudoLabelHook (``policy=dict(type=...)``)
PSEUDO_LABEL_POLICIES = Registry(
    'pseudo-label policy', scope='mmseg_sfda',
    locations=['mmseg_sfda.pseudo_labels.policies'])
