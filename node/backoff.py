"""Exponential back-off for restarting crashed containers and retrying pulls.

Pure, with an injected clock. kubelet's rule: the first restart of a container
is immediate; each later one waits ``initial`` seconds, doubling up to ``cap``;
a container that ran for ``reset_after`` seconds before it died starts over.
While a container waits, its state shows ``CrashLoopBackOff``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    delay: float  # how long to wait after the next failure
    since: float  # when the delay was last raised


class Backoff:
    def __init__(self, clock: Callable[[], float], initial: float = 10.0, cap: float = 300.0,
                 reset_after: float = 600.0) -> None:
        self.clock = clock
        self.initial = initial
        self.cap = cap
        self.reset_after = reset_after
        self._entries: dict[str, _Entry] = {}

    def remaining(self, key: str, failed_at: float, ran_for: float = 0.0) -> float:
        """Seconds still to wait before retrying ``key``, which failed at ``failed_at``
        after running for ``ran_for`` seconds; 0 means "retry now"."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        if ran_for >= self.reset_after:
            del self._entries[key]
            return 0.0
        return max(0.0, failed_at + entry.delay - self.clock())

    def delay(self, key: str) -> float:
        """The wait that applies to ``key``'s current failure (0 if none yet)."""
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def retried(self, key: str) -> None:
        """Record a retry: the next failure waits longer."""
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(self.initial, self.clock())
        else:
            entry.delay = min(entry.delay * 2, self.cap)
            entry.since = self.clock()

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def tracked(self) -> set[str]:
        return set(self._entries)
