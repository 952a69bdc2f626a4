"""Code on an event loop must not wait for consensus.

Inside ``nonblocking()`` (per asyncio task: a context variable), a store call
that would wait for the Raft log (a write, a linearizable read) raises
``WouldBlock`` at once, before it has changed anything. The caller then redoes
the whole request where waiting is fine (a worker thread). What the loop may
await instead is the store's ``put_async``.

``WouldBlock`` is a ``BaseException``: a signal to the code that set up the
context, which must pass every ``except Exception`` between the store and it
(as ``asyncio.CancelledError`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTIVE: ContextVar[bool] = ContextVar("raftstore_nonblocking", default=False)


class WouldBlock(BaseException):  # noqa: N818 - a signal, as CancelledError
    """A store call inside ``nonblocking()`` would have waited for the log."""


@contextmanager
def nonblocking() -> Iterator[None]:
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def check(what: str) -> None:
    """Raise ``WouldBlock`` inside ``nonblocking()``; ``what`` names the call."""
    if _ACTIVE.get():
        raise WouldBlock(what)
