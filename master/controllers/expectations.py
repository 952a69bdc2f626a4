"""Controller expectations (Kubernetes' UIDTrackingControllerExpectations).

A controller that creates or deletes pods records what it expects to see;
until its informer has observed those creations and deletions (or the
expectation times out), it does not act on that key again, so a slow cache
never makes it create or delete twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

TIMEOUT = 300.0  # Kubernetes' ExpectationsTimeout


@dataclass
class _Expectation:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 timeout: float = TIMEOUT) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, _Expectation] = {}
        self._clock = clock
        self._timeout = timeout

    def satisfied(self, key: str) -> bool:
        with self._lock:
            e = self._items.get(key)
            if e is None:
                return True
            if e.adds <= 0 and not e.deletes:
                return True
            return self._clock() - e.at > self._timeout

    def expect_creations(self, key: str, n: int) -> None:
        with self._lock:
            self._items[key] = _Expectation(adds=n, at=self._clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        with self._lock:
            self._items[key] = _Expectation(deletes=set(pod_keys), at=self._clock())

    def creation_observed(self, key: str) -> None:
        with self._lock:
            e = self._items.get(key)
            if e is not None:
                e.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        with self._lock:
            e = self._items.get(key)
            if e is not None:
                e.deletes.discard(pod_key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
