"""What the request handlers share: the stores, the watch caches, the config and the
shutdown flag."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from raftstore import Store
from raftstore.nonblocking import WouldBlock

from ..objects import ObjectStore
from ..signing import SigningKey
from ..usagehistory import UsageHistory
from ..watchcache import WatchCaches
from .config import ApiConfig
from .rbacauthz import RbacAuthorizer
from .storehealth import LeaderTracker
from .watch import Broadcaster


class EventLeases:
    """One store lease per minute shared by the Events created in it, so each
    Event expires after about ``ttl`` seconds without a Raft command per Event."""

    def __init__(self, store: Store, ttl: int, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.ttl, self.window, self.clock = store, ttl, window, clock
        self._lock = threading.Lock()
        self._lease = 0
        self._granted_at = 0.0

    def current(self) -> int:
        """The lease id for Events created now."""
        with self._lock:
            if not self._lease or self.clock() - self._granted_at >= self.window:
                self._lease = self.store.lease_grant(self.ttl)
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
        with self._lock:
            if self._lease == lease:
                self._lease = 0


@dataclass
class ApiState:
    config: ApiConfig
    store: Store
    objects: ObjectStore
    event_leases: EventLeases
    leader: LeaderTracker
    stopping: threading.Event
    watchers: Broadcaster  # the open watch streams, on the server's event loop
    caches: WatchCaches  # one per kind, feeding ``watchers`` and resourceVersion=0 lists
    signing: SigningKey  # the masters' shared key (tokens for nodes, ServiceAccounts)
    rbac: RbacAuthorizer
    # controller name -> keys queued, while this master leads (for /metrics)
    queue_depths: Callable[[], dict[str, int]] = dict
    usage: UsageHistory = field(default_factory=UsageHistory)  # nodes' last hour, for /ui/usage


def state() -> ApiState:
    return current_app.extensions["coxswain"]
