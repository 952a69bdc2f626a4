"""Lease deadlines, kept on the local monotonic clock outside the replicated
state. Only the leader acts on them: it proposes one ``lease_expire`` per lease
whose deadline passed. A new leader starts every lease's clock afresh (as etcd
does), so a leader change can only extend a lease, never cut it short."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

RETRY_EXPIRE_AFTER = 1.0  # re-propose an expiry whose proposal did not apply


class LeaseClock:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._deadline: dict[int, float] = {}
        self._proposed: dict[int, float] = {}
        self._lock = threading.Lock()

    def on_applied(self, cmd: dict, result: object) -> None:
        """Follow the lease commands the state machine applied successfully."""
        op = cmd["op"]
        if isinstance(result, Exception):
            return
        with self._lock:
            if op == "lgrant":  # result: the lease id
                self._deadline[result] = self._clock() + cmd["ttl"]  # type: ignore[index]
            elif op == "lkeep":  # result: the lease's TTL
                self._deadline[cmd["id"]] = self._clock() + result  # type: ignore[operator]
            elif op in ("lrevoke", "lexpire"):
                self._deadline.pop(cmd["id"], None)
                self._proposed.pop(cmd["id"], None)

    def reset(self, leases: Iterable[tuple[int, float]]) -> None:
        """Restart every lease's clock from now (on gaining leadership)."""
        now = self._clock()
        with self._lock:
            self._deadline = {lid: now + ttl for lid, ttl in leases}
            self._proposed.clear()

    def due(self) -> list[int]:
        """Leases whose deadline passed and whose expiry is not already in flight."""
        now = self._clock()
        out = []
        with self._lock:
            for lid, deadline in self._deadline.items():
                if deadline <= now and now - self._proposed.get(lid, -1e18) >= RETRY_EXPIRE_AFTER:
                    self._proposed[lid] = now
                    out.append(lid)
        return out

    def remaining(self, lease_id: int) -> float | None:
        with self._lock:
            d = self._deadline.get(lease_id)
        return None if d is None else max(0.0, d - self._clock())
