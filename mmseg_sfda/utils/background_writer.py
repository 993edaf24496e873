"""File writes overlapped with computation: one worker thread, a bounded queue."""
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, Optional


class BackgroundWriter:
    """Runs write jobs in submission order on one worker thread, so that encoding and
    writing (OpenCV and file I/O release the GIL) overlap with the caller's next
    computation. At most ``max_pending`` jobs wait (memory stays bounded). After a job
    fails, the later ones are skipped and the error is raised in the caller (at the next
    :meth:`submit` or at :meth:`close`), so what is on disk is a prefix of the jobs.

    Use as a context manager: leaving it waits for every job.
    """

    def __init__(self, max_pending: int = 2) -> None:
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='writer')
        self._pending: Deque[Future] = deque()
        self._error: Optional[BaseException] = None  # never reset: nothing runs after it
        self._reported = False

    @property
    def _failed(self) -> bool:
        return self._error is not None

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        if self._failed:
            return
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902  (re-raised in the caller)
            self._error = e

    def _raise(self) -> None:
        if self._failed and not self._reported:
            self._reported = True
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; waits while more than ``max_pending`` jobs wait."""
        self._raise()
        if self._failed:
            return
        self._pending.append(self._pool.submit(self._run, fn, args))
        while len(self._pending) > self.max_pending:
            self._pending.popleft().result()
        self._raise()

    def close(self) -> None:
        """Wait for every job; raise the first error."""
        while self._pending:
            self._pending.popleft().result()
        self._raise()

    def __enter__(self) -> 'BackgroundWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.close()
            else:  # the caller failed: finish what is queued, keep the caller's error
                while self._pending:
                    self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)
