"""Kubernetes Events: what a controller did and why, on the object it did it to.

Recording never blocks on the store and never raises, as with client-go's
recorder: an occurrence only updates the in-memory correlator
(``coxapi.eventcorrelator``: all occurrences of one object, type and reason
share one Event whose ``count`` grows and whose message is the latest; each
Event is written at most once per ``MIN_INTERVAL``), and one ``EventWriter``
thread per leadership term writes what is due, many at a time so that they
share Raft commits. A controller creating 3,000 pods therefore costs one
SuccessfulCreate Event and a few count updates, not 3,000 commits it waits for.
The correlator remembers a bounded number of Events; under a flood the oldest
unwritten ones are dropped (and counted), as client-go drops when its queue
is full. Until a writer runs (tests, tools driving controllers by hand) each
occurrence is written at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from coxapi.eventcorrelator import NORMAL, WARNING, EventCorrelator, Write, perform

from ..eventleases import EventLeases
from ..objects import ObjectStore
from . import parallel

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MIN_INTERVAL = 10.0  # seconds between writes of one Event once a writer runs
RETRY_AFTER = 1.0  # seconds before failed writes are tried again

__all__ = ["NORMAL", "WARNING", "EventRecorder", "EventWriter"]


class EventRecorder:
    """One component's events (``component`` is the Events' source)."""

    def __init__(self, objects: ObjectStore, component: str, clock: Callable[[], float] = time.time,
                 host: str = "", leases: EventLeases | None = None) -> None:
        self.objects = objects
        self.leases = leases  # the store lease each write takes (None: written without one)
        # min_interval 0 while written inline: no thread would write a deferred one
        self.correlator = EventCorrelator(component, host, clock, min_interval=0.0)
        self._lock = threading.Lock()
        self._wake: Callable[[], None] | None = None

    def normal(self, obj: Obj, reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: Obj, reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    def event(self, obj: Obj, etype: str, reason: str, message: str) -> None:
        try:
            with self._lock:
                self.correlator.observe(obj, etype, reason, message)
        except Exception as e:  # noqa: BLE001 - an event is never worth a failure
            log.warning("could not record event %s on %s: %s", reason,
                        (obj.get("metadata") or {}).get("name"), e)
            return
        wake = self._wake
        if wake is not None:
            wake()
        else:
            self.flush()

    def hand_over(self, wake: Callable[[], None], min_interval: float) -> None:
        """From now on a writer writes (rate-limited); ``wake`` tells it there is work."""
        with self._lock:
            self.correlator.min_interval = min_interval
        self._wake = wake

    def due(self) -> list[Write]:
        with self._lock:
            return self.correlator.due()

    def next_due_in(self) -> float | None:
        with self._lock:
            return self.correlator.next_due_in()

    def dropped(self) -> int:
        with self._lock:
            return self.correlator.dropped

    def write(self, w: Write) -> bool:
        """One due write to the store; False if it failed (it stays due)."""
        ok, gone = self._store(w)
        with self._lock:
            self.correlator.written(w, ok, gone)
        return ok

    def flush(self) -> int:
        """Write what is due now, together; returns how many writes failed."""
        writes = self.due()
        return sum(not ok for ok in parallel.map_ok(self.write, writes))

    def _store(self, w: Write) -> tuple[bool, bool]:
        """(written, the Event is gone and must be created again)."""
        lease = 0
        try:
            lease = self.leases.current() if self.leases is not None else 0
            return self._store_on(lease, w)
        except Exception as e:  # noqa: BLE001 - kept due and retried; never a failure upstream
            if self.leases is not None:
                self.leases.forgot(lease, e)  # gone from the store: the retry takes a new one
            log.info("could not write event %s on %s: %s", w.event.get("reason"),
                     (w.event.get("involvedObject") or {}).get("name"), e)
            return False, False

    def _store_on(self, lease: int, w: Write) -> tuple[bool, bool]:
        def create(ev: Obj) -> None:
            self.objects.create(ev, lease=lease)

        def fold(ev: Obj) -> None:
            def update(cur: Obj) -> Obj:
                cur.update(count=ev["count"], lastTimestamp=ev["lastTimestamp"],
                           message=ev["message"])
                return cur
            meta = ev["metadata"]
            self.objects.guaranteed_update("Event", meta["namespace"], meta["name"], update,
                                           lease=lease)
        return perform(w, create, fold)


class EventWriter:
    """The thread that writes every recorder's due Events (one per leadership term)."""

    def __init__(self, min_interval: float = MIN_INTERVAL) -> None:
        self.min_interval = min_interval
        self.recorders: list[EventRecorder] = []
        self._wake = threading.Event()

    def add(self, recorder: EventRecorder) -> EventRecorder:
        self.recorders.append(recorder)
        return recorder

    def wake(self) -> None:
        """End the writer's wait (there is work, or it was told to stop)."""
        self._wake.set()

    def flush(self) -> int:
        """Every recorder's due writes, together; returns how many failed."""
        jobs = [(r, w) for r in self.recorders for w in r.due()]
        return sum(not ok for ok in parallel.map_ok(lambda job: job[0].write(job[1]), jobs))

    def run(self, stop: threading.Event) -> None:
        """Write events as they fall due until ``stop``; what is still due then is
        left (a deposed leader's writes would be fenced off anyway)."""
        for r in self.recorders:
            r.hand_over(self._wake.set, self.min_interval)
        dropped = 0
        while not stop.is_set():
            self._wake.clear()  # before flushing, so an event recorded meanwhile wakes us
            failed = self.flush()
            waits = [w for w in (r.next_due_in() for r in self.recorders) if w is not None]
            now_dropped = sum(r.dropped() for r in self.recorders)
            if now_dropped > dropped:
                log.warning("events: %d dropped unwritten (more than the correlator keeps)",
                            now_dropped - dropped)
                dropped = now_dropped
            delay = RETRY_AFTER if failed else min(waits, default=60.0)
            self._wake.wait(max(delay, 0.01))  # stopping wakes it too
