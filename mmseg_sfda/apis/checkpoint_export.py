"""Export the ``segmentor.*`` weights of an adaptation checkpoint as a plain mmseg one."""
import os
import os.path as osp

import torch
from mmengine.runner.checkpoint import _load_checkpoint

PREFIX = 'segmentor.'


def export_segmentor(src: str, dst: str) -> int:
    """Write ``src``'s segmentor as ``{'state_dict', 'meta'}`` to ``dst`` atomically.

    Returns the number of tensors written; ``dst`` must not be ``src`` (ValueError).
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    if osp.realpath(src) == osp.realpath(dst) or (osp.exists(dst) and osp.samefile(src, dst)):
        raise ValueError(f'the output {dst} is the input checkpoint {src}: exporting would '
                         'overwrite the training checkpoint (its generator, discriminator '
                         'and optimizer states). Give another output file.')
    ckpt = _load_checkpoint(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    seg = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not seg:
        raise KeyError(f'{src} has no {PREFIX}* weights: it is not a checkpoint of a '
                       'DomainAdaptiveSegmentor (a plain mmseg checkpoint needs no export)')
    meta = {k: v for k, v in ckpt.get('meta', {}).items()
            if k in ('dataset_meta', 'mmengine_version', 'iter', 'epoch', 'seed')}
    meta['exported_from'] = osp.abspath(src)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = f'{dst}.tmp{os.getpid()}'
    try:
        torch.save(dict(state_dict=seg, meta=meta), tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return len(seg)
