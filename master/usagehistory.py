"""The last hour of every node's CPU and memory usage, in this master's memory,
for the dashboard's charts (``GET /ui/usage``, master.ui).

Fed from the usage reports the node agents put on their Leases
(coxapi.usagereport) as this master's watch cache sees them change: the
``UsageTap`` sits between the watch caches and their sink, so every master
keeps the same history without a Raft write or a poll of its own, and a page
that moves to another master (a failover) still gets the hour.

Bounded: per node a ring of at most ``capacity`` samples at least
``window / capacity`` seconds apart (a faster agent is thinned, never lets the
ring cover less than the hour), older than ``window`` dropped; a node's ring
goes with its Node or its Lease.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from coxapi import kinds
from coxapi.timefmt import parse_epoch
from coxapi.usagereport import of_lease

from .watchcache import CachedEvent, KindCache, Sink

log = logging.getLogger(__name__)
LEASE_NAMESPACE = "kube-node-lease"
WINDOW = 3600.0  # seconds kept
CAPACITY = 800  # samples per node: the hour at one report every 4.5 s
Sample = tuple[float, int, int]  # epoch seconds of the measurement, cpu nanocores, memory bytes


class UsageHistory:
    """Per node, its recent samples, oldest first. Thread-safe."""

    def __init__(self, window: float = WINDOW, capacity: int = CAPACITY) -> None:
        self.window, self.capacity = window, capacity
        self.spacing = window / capacity  # the thinnest gap kept between two samples
        self._lock = threading.Lock()
        self._rings: dict[str, deque[Sample]] = {}

    def add(self, node: str, sample: Sample) -> bool:
        """Keep ``sample``; False (dropped) if it is not at least ``spacing``
        after the node's last one: a repeat of the same report (a Lease written
        again before a new measurement), a clock gone backwards, or a burst."""
        with self._lock:
            ring = self._rings.get(node)
            if ring is None:
                ring = self._rings[node] = deque(maxlen=self.capacity)
            elif sample[0] - ring[-1][0] < self.spacing * 0.999:
                return False
            ring.append(sample)
            return True

    def forget(self, node: str) -> None:
        with self._lock:
            self._rings.pop(node, None)

    def nodes(self) -> list[str]:
        with self._lock:
            return sorted(self._rings)

    def since(self, now: float, after: float = 0.0) -> dict[str, list[Sample]]:
        """Per node, its samples within the window before ``now`` and later than
        ``after``, oldest first; what fell out of the window is dropped."""
        start = max(now - self.window, after)
        out = {}
        with self._lock:
            for node, ring in self._rings.items():
                while ring and ring[0][0] < now - self.window:
                    ring.popleft()
                out[node] = [s for s in ring if s[0] > start]
        return out


def sample_of(lease: dict[str, Any]) -> Sample | None:
    """The node figures of a Lease's usage report, or None (none, or malformed)."""
    report = of_lease(lease)
    taken = parse_epoch(report.timestamp) if report is not None else None
    if report is None or taken is None:
        return None
    return taken, report.node[0], report.node[1]


class UsageTap:
    """A watch-cache ``Sink`` that feeds a ``UsageHistory`` from the Lease and
    Node events passing through, then hands every event on to ``sink``. Runs
    on the caches' feeder threads with a cache's lock held: a JSON decode per
    Lease write, nothing that blocks."""

    def __init__(self, sink: Sink, history: UsageHistory) -> None:
        self.sink, self.history = sink, history
        self._observers: dict[str, Callable[[list[CachedEvent]], None]] = {
            kinds.lookup("leases").plural: self._leases, kinds.lookup("nodes").plural: self._nodes}

    def events(self, cache: KindCache, batch: list[CachedEvent], revision: int) -> None:
        observe = self._observers.get(cache.kind.plural)
        if observe is not None and batch:
            try:
                observe(batch)
            except Exception:  # noqa: BLE001 - the charts may miss a point; watches must not
                log.exception("usage history: an event could not be read")
        self.sink.events(cache, batch, revision)

    def reset(self, cache: KindCache) -> None:
        self.sink.reset(cache)

    def _leases(self, batch: list[CachedEvent]) -> None:
        for ev in batch:
            meta = ev.entry.obj.get("metadata") or {}
            if meta.get("namespace") != LEASE_NAMESPACE:
                continue
            if ev.type == "DELETED":
                self.history.forget(meta.get("name", ""))
            elif (sample := sample_of(ev.entry.obj)) is not None:
                self.history.add(meta.get("name", ""), sample)

    def _nodes(self, batch: list[CachedEvent]) -> None:
        for ev in batch:
            if ev.type == "DELETED":
                self.history.forget((ev.entry.obj.get("metadata") or {}).get("name", ""))
