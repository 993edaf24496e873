"""Progress of long loops: a bar on a terminal, a few log lines in a log file."""
import sys
import time
from typing import Optional

from mmengine.logging import print_log
from mmengine.utils import ProgressBar


class Progress:
    """mmengine's ``ProgressBar`` when stdout is a terminal; otherwise one log line per
    ``log_every`` of the work (a bar redrawn in a log file is one endless line).

    Args:
        total (int): number of items.
        desc (str): what is being done, for the log lines.
        log_every (float): fraction of ``total`` between log lines (non-terminal).
        enabled (bool): False prints nothing (e.g. on ranks other than 0).
    """

    def __init__(self, total: int, desc: str, log_every: float = 0.1,
                 enabled: bool = True, stream=None) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.done = 0
        self.enabled = enabled and self.total > 0
        self.stream = sys.stdout if stream is None else stream
        self._step = max(1, int(self.total * log_every))
        self._start = time.time()
        self._bar: Optional[ProgressBar] = None
        if self.enabled and self.stream.isatty():
            self._bar = ProgressBar(self.total, file=self.stream)

    def update(self, num: int = 1) -> None:
        """Mark ``num`` more items done."""
        if not self.enabled:
            return
        for _ in range(num):
            if self.done >= self.total:
                return
            self.done += 1
            if self._bar is not None:
                self._bar.update()
            elif self.done % self._step == 0 or self.done == self.total:
                rate = self.done / max(time.time() - self._start, 1e-9)
                print_log(f'{self.desc}: {self.done}/{self.total} ({rate:.1f}/s)',
                          logger='current')
        if self._bar is not None and self.done == self.total:
            self.stream.write('\n')
