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

    With ``$KILL_RESUME_IN_LABELLING`` set it pauses inside that iteration's labelling
    instead: PseudoLabelHook's second pass writes the first image's label, then sleeps
    (a round directory with every score file, one label and no completion mark).

    Without the variables it does nothing, so the uninterrupted, killed and resumed runs
    share one config.
    """

    priority = 'LOWEST'

    @staticmethod
    def _at() -> int:
        return int(os.environ.get('KILL_RESUME_PAUSE_AT', 0))

    @staticmethod
    def _pause(runner) -> None:
        with open(os.environ['KILL_RESUME_MARKER'], 'w') as f:
            f.write(str(runner.iter + 1))
        time.sleep(600)  # the test kills the process here

    def before_train(self, runner) -> None:
        if not (self._at() and os.environ.get('KILL_RESUME_IN_LABELLING')):
            return
        from mmseg_sfda.engine.hooks import pseudo_label_hook
        write_labels = pseudo_label_hook.write_labels

        def write_first_label_then_pause(round_dir, stems, thresholds, policy):
            if runner.iter + 1 != self._at():
                return write_labels(round_dir, stems, thresholds, policy)
            write_labels(round_dir, stems[:1], thresholds, policy)
            self._pause(runner)

        pseudo_label_hook.write_labels = write_first_label_then_pause

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self._at() and \
                not os.environ.get('KILL_RESUME_IN_LABELLING'):
            self._pause(runner)
