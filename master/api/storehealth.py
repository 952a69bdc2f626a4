"""What the store's ``status()`` says about this replica's health. The pure
checks serve ``/readyz`` and the watches (which end when the store cannot see
a leader any more)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from raftstore import Store


def leaderless_reason(status: dict[str, Any]) -> str | None:
    """Why this replica cannot reach a leader with a quorum, or None if it can.

    A follower cut off from everyone keeps naming its old leader (Raft
    followers only campaign when they reach a peer), so the leader must also be
    connected; a leader must still have its quorum."""
    leader = status.get("leader")
    if not leader:
        return "the store has no leader (no quorum?)"
    if status.get("role") == "leader":
        if status.get("has_quorum") is False:
            return "this replica leads but has lost its quorum"
        return None
    peers = {p.get("id"): p.get("connected") for p in status.get("peers") or []}
    if leader in peers and not peers[leader]:
        return f"this replica is not connected to the leader {leader}"
    return None


def readiness(status: dict[str, Any], max_lag: int) -> str | None:
    """Why this replica is not ready, or None when it is."""
    reason = leaderless_reason(status)
    if reason:
        return reason
    lag = int(status.get("commit_index") or 0) - int(status.get("applied_index") or 0)
    if lag > max_lag:
        return f"the store is catching up ({lag} entries behind its commit index)"
    return None


def alarm_note(status: dict[str, Any]) -> str | None:
    """The store's raised alarms as one line, or None. NOSPACE leaves the
    replica ready: reads, deletes and heartbeats still work, and deletes are
    how it recovers (it clears by itself once live data is back under 90 %
    of the quota)."""
    alarms = status.get("alarms") or []
    if not alarms:
        return None
    line = f"alarm: {', '.join(map(str, alarms))}"
    if "NOSPACE" in alarms:
        line += (f" (live data {status.get('live_bytes')} of quota {status.get('quota_bytes')} "
                 f"bytes: writes that grow it are refused until objects are deleted)")
    return line


class LeaderTracker:
    """Whether the store has been without a leader for longer than ``grace``
    seconds (so an ordinary election does not count). Watches end on it, as
    Kubernetes' end when etcd loses its leader, so clients move to a master
    that can still see changes. Checks the store at most every ``interval``."""

    def __init__(self, store: Store, grace: float, interval: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.grace, self.interval, self.clock = store, grace, interval, clock
        self._lock = threading.Lock()
        self._checked = -interval
        self._since: float | None = None

    def _has_leader(self) -> bool:
        try:
            return leaderless_reason(self.store.status()) is None
        except Exception:  # noqa: BLE001 - a store that cannot answer has no leader for us
            return False

    def lost(self) -> bool:
        with self._lock:
            now = self.clock()
            if now - self._checked >= self.interval:
                self._checked = now
                if self._has_leader():
                    self._since = None
                elif self._since is None:
                    self._since = now
            return self._since is not None and now - self._since >= self.grace
