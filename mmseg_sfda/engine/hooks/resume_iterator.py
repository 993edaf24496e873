"""A stand-in for the train loop's data iterator while a resumed loop skips batches."""
from typing import Any, Callable, Optional


class ResumeIteratorProxy:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` while the loop of a
    resumed run fetches and drops the ``skip`` batches trained before the checkpoint.

    The first ``absorb`` of those calls return ``None`` without fetching (the real
    iterator already starts that far into the stream); the rest fetch. At the first call
    after the skip, ``on_fetch`` runs and the proxy takes itself out of the loop.
    """

    def __init__(self, loop: Any, skip: int, absorb: int = 0,
                 on_fetch: Optional[Callable[[], None]] = None) -> None:
        if not 0 <= absorb <= skip:
            raise ValueError(f'absorb must be in [0, skip={skip}], got {absorb}')
        self.loop = loop
        self.inner = loop.dataloader_iterator
        self.skip = skip
        self.absorb = absorb
        self.on_fetch = on_fetch
        self.calls = 0

    def __iter__(self) -> 'ResumeIteratorProxy':
        return self

    def __next__(self) -> Any:
        self.calls += 1
        if self.calls <= self.absorb:
            return None
        if self.calls > self.skip:
            if self.on_fetch is not None:
                on_fetch, self.on_fetch = self.on_fetch, None
                on_fetch()
            if self.loop.dataloader_iterator is self:
                self.loop.dataloader_iterator = self.inner
        return next(self.inner)


def real_iterator(iterator: Any) -> Any:
    """The iterator under any :class:`ResumeIteratorProxy`."""
    while isinstance(iterator, ResumeIteratorProxy):
        iterator = iterator.inner
    return iterator
