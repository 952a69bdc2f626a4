"""Read-modify-write under optimistic concurrency: run it again on Conflict.

client-go's ``retry.RetryOnConflict(retry.DefaultRetry, fn)``. ``fn`` does the
whole read-modify-write, so every call starts from a fresh read; only
``Conflict`` is retried, at most ``backoff.steps`` calls in all with a jittered
pause between two calls; when the steps run out the last Conflict is raised.
Any other error (NotFound, Invalid, an unreachable cluster) passes straight
through on the first call.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import Conflict

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """client-go's ``wait.Backoff`` without a cap: ``steps`` calls; the first
    pause is ``duration`` seconds, each next one ``factor`` times longer, each
    lengthened by up to ``jitter`` of itself at random."""

    steps: int = 5
    duration: float = 0.010
    factor: float = 1.0
    jitter: float = 0.1


DEFAULT_RETRY = Backoff()  # client-go's retry.DefaultRetry


def retry_on_conflict(fn: Callable[[], T], backoff: Backoff = DEFAULT_RETRY, *,
                      sleep: Callable[[float], None] = time.sleep,
                      rand: Callable[[], float] = random.random) -> T:
    """``fn()``'s result, calling it again while it raises ``Conflict``."""
    delay = backoff.duration
    for step in range(1, backoff.steps + 1):
        try:
            return fn()
        except Conflict:
            if step >= backoff.steps:
                raise
        sleep(delay + delay * backoff.jitter * rand())
        delay *= backoff.factor
    raise ValueError(f"backoff.steps must be at least 1, not {backoff.steps}")


def starting_with(obj: T, read: Callable[[], T]) -> Callable[[], T]:
    """A reader for a ``retry_on_conflict`` body: ``obj`` (already in hand, say
    from a cache) on the first call, ``read()`` on every later one, since a
    Conflict means what was in hand is stale."""
    first = [obj]

    def current() -> T:
        return first.pop() if first else read()
    return current
