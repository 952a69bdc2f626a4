"""The store leases Events expire with (kube-apiserver gives every Event
write an etcd lease of the event TTL, shared by the writes of a minute).

Every write of an Event, its creation and each update (a count bumped), takes
the current lease, so an Event lives at least ``ttl`` seconds after its last
write and at most ``ttl + window``: the store deletes it when the lease runs
out, with no scan of the Events. One lease serves every Event written in a
``window``, so the Events cost one Raft command a minute for their leases,
not one each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from raftstore import errors as store_errors
from raftstore.nonblocking import WouldBlock

WINDOW = 60.0  # seconds one lease is handed out for


class EventLeases:
    """One store lease per ``window`` shared by the Events written in it."""

    def __init__(self, store: Any, ttl: int, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.ttl, self.window, self.clock = store, ttl, window, clock
        self._lock = threading.Lock()
        self._lease = 0
        self._granted_at = 0.0

    def current(self) -> int:
        """The lease id for Events written now (a Raft write once a window)."""
        with self._lock:
            if not self._lease or self.clock() - self._granted_at >= self.window:
                # the last Event written on it is still ``ttl`` from its end
                self._lease = self.store.lease_grant(self.ttl + self.window)
                self._granted_at = self.clock()
            return self._lease

    def current_nowait(self) -> int:
        """``current`` on an event loop: the lease when one is current. A new
        one is a Raft write, and the lock may be held by a thread making it,
        so either raises ``WouldBlock`` (the Event is then made in a thread)."""
        if not self._lock.acquire(blocking=False):
            raise WouldBlock("the Events' store lease is being renewed")
        try:
            if not self._lease or self.clock() - self._granted_at >= self.window:
                raise WouldBlock("the Events' store lease is due for renewal")
            return self._lease
        finally:
            self._lock.release()

    def forget(self, lease: int) -> None:
        """The store no longer has ``lease``: the next write takes a new one."""
        with self._lock:
            if self._lease == lease:
                self._lease = 0

    def forgot(self, lease: int, error: BaseException) -> bool:
        """Whether ``error`` (from a write on ``lease``) says the lease is gone
        from the store; if so it is forgotten, so a retry takes a new one."""
        cause = error if isinstance(error, store_errors.StoreError) else error.__cause__
        if lease and isinstance(cause, store_errors.LeaseNotFound):
            self.forget(lease)
            return True
        return False
