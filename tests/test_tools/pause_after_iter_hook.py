"""A hook of the kill -9 resume test (test_kill_resume.py), imported by its configs."""
import os
import time

from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class PauseAfterIterHook(Hook):
    """After iteration ``$KILL_RESUME_PAUSE_AT`` (its checkpoint saved: priority LOWEST,
    after the checkpoint hook; after or before PseudoLabelHook's labelling by its place
    in ``custom_hooks``), write the file ``$KILL_RESUME_MARKER`` and sleep until killed.

    Without the variables it does nothing, so the uninterrupted, killed and resumed runs
    share one config.
    """

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        at = os.environ.get('KILL_RESUME_PAUSE_AT')
        if at and runner.iter + 1 == int(at):
            with open(os.environ['KILL_RESUME_MARKER'], 'w') as f:
                f.write(str(runner.iter + 1))
            time.sleep(600)  # the test kills the process here
