"""mmengine's CheckpointHook with saves that a kill at any moment cannot lose."""
import os
import os.path as osp
import re
import shutil

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_sfda.utils.bad_input import BadInputError, MissingInputError

_TMP = re.compile(r'^\.(.+\.pth|last_checkpoint)\.tmp$')  # left by a killed save
PREFIX = 'segmentor.'  # DomainAdaptiveSegmentor's adapted model


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = osp.join(osp.dirname(path), f'.{osp.basename(path)}.tmp')
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` whose saves survive a kill at any moment.

    On a local disk each checkpoint is written to ``.{name}.tmp`` next to it and renamed
    into place; then ``last_checkpoint`` is replaced atomically; only then is the
    checkpoint beyond ``max_keep_ckpts`` deleted. A run killed during a save therefore
    always leaves the previous checkpoint and a ``last_checkpoint`` naming it (mmengine's
    hook deletes the old file first). Temporary files of a killed save are removed at the
    next start.

    ``--resume`` of a work dir that was copied or moved: ``last_checkpoint`` holds an
    absolute path; when it names a file outside this run's checkpoint folder, the file of
    the same name in this folder is resumed (a log line says so); without one the run
    stops with a message instead of resuming another folder's run.

    Loading (``load_from``, ``--resume``, tools/test.py): see :meth:`after_load_checkpoint`.

    Arguments are :class:`~mmengine.hooks.CheckpointHook`'s; other file backends (e.g.
    petrel) keep mmengine's behaviour.
    """

    # ------------------------------------------------------------------ start
    def _ckpt_dir(self, runner: Runner) -> str:
        """The folder checkpoints go to, as CheckpointHook.before_train will set it."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))

    def before_run(self, runner: Runner) -> None:
        ckpt_dir = self._ckpt_dir(runner)
        if '://' in ckpt_dir:
            return
        if is_main_process() and osp.isdir(ckpt_dir):
            for name in os.listdir(ckpt_dir):
                if _TMP.match(name) and osp.isfile(osp.join(ckpt_dir, name)):
                    os.remove(osp.join(ckpt_dir, name))  # a save killed midway
        self._resolve_last_checkpoint(runner, ckpt_dir)

    def _resolve_last_checkpoint(self, runner: Runner, ckpt_dir: str) -> None:
        if not getattr(runner, '_resume', False) or runner._load_from is not None:
            return
        save_file = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(save_file):
            return
        with open(save_file) as f:
            named = f.read().strip()
        if not named or osp.realpath(osp.dirname(named)) == osp.realpath(ckpt_dir):
            return
        here = osp.join(ckpt_dir, osp.basename(named))
        if not osp.isfile(here):
            raise MissingInputError(
                f'{save_file} names {named}, which is not in this run\'s checkpoint '
                f'folder {ckpt_dir} (a copied or moved work_dir?), and {ckpt_dir} has no '
                f'{osp.basename(named)}. Copy that checkpoint here, or resume it by name: '
                f'--cfg-options load_from={named}')
        print_log(f'{save_file} names {named} (another folder); resuming from {here}, '
                  'the checkpoint of that name in this work_dir', logger='current')
        runner._load_from = here

    # ------------------------------------------------------------------- load
    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Before the weights are loaded (``load_from``, ``--resume``, tools/test.py):
        a checkpoint of which no weight name matches the model is never loaded silently.
        An adaptation checkpoint (``segmentor.*``) given to a plain segmentor loads its
        segmentor weights (a log line says so); otherwise the run stops naming the
        mismatch."""
        state = checkpoint.get('state_dict', checkpoint)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        wanted = set(model.state_dict())
        if not state or not wanted or wanted & set(state):
            return  # some names match: mmengine reports missing / unexpected ones
        source = runner._load_from or 'the checkpoint'
        stripped = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
        if stripped and wanted & set(stripped):
            print_log(f'{source} is a checkpoint of a DomainAdaptiveSegmentor: loading '
                      f'its {len(stripped)} {PREFIX}* tensors into this '
                      f'{type(model).__name__} (the plain segmentor)', logger='current')
            if 'state_dict' in checkpoint:
                checkpoint['state_dict'] = stripped
            else:
                checkpoint.clear()
                checkpoint.update(stripped)
            return
        raise BadInputError(
            f'no weight of {source} matches the {type(model).__name__} of this config '
            f'(checkpoint: {sorted(state)[:3]} ...; model: {sorted(wanted)[:3]} ...): it '
            'is a checkpoint of another model. Give the config it was trained with; an '
            'adaptation checkpoint can be exported for a plain segmentor with '
            'tools/export_segmentor.py.')

    # ------------------------------------------------------------------- save
    def _save_checkpoint_with_step(self, runner: Runner, step: int, meta: dict) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        tmp_filename = f'.{ckpt_filename}.tmp'
        runner.save_checkpoint(
            self.out_dir,
            tmp_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        os.replace(osp.join(self.out_dir, tmp_filename), self.last_ckpt)
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None and outdated != step:
            path = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(path):
                os.remove(path)
            elif osp.isdir(path):
                shutil.rmtree(path)
