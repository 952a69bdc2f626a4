"""Events the node agent writes, as the kubelet does (Pulling, Pulled, Failed,
BackOff, Created, Started, Killing, Unhealthy, FailedMount, NodeReady, ...).

Recording only updates the in-memory correlator (``coxapi.eventcorrelator``,
which aggregates and rate-limits) and never blocks on the API: the
``run`` thread writes what is due, so a pod worker or a prober never waits
for a master, and an unreachable API only delays events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.eventcorrelator import NORMAL, WARNING, EventCorrelator, Write, perform

log = logging.getLogger(__name__)
Obj = dict[str, Any]
COMPONENT = "kubelet"


def container_path(name: str) -> str:
    """The ``fieldPath`` kubelet puts on a container's events."""
    return f"spec.containers{{{name}}}"


class NodeEvents:
    def __init__(self, client: Client, node: str, clock: Callable[[], float] = time.time,
                 min_interval: float = 10.0) -> None:
        self.client = client
        self.correlator = EventCorrelator(COMPONENT, node, clock, min_interval)
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def normal(self, obj: Obj, reason: str, message: str, container: str = "") -> None:
        self.event(obj, NORMAL, reason, message, container)

    def warning(self, obj: Obj, reason: str, message: str, container: str = "") -> None:
        self.event(obj, WARNING, reason, message, container)

    def event(self, obj: Obj, etype: str, reason: str, message: str, container: str = "") -> None:
        with self._lock:
            self.correlator.observe(obj, etype, reason, message,
                                    container_path(container) if container else "")
        self._wake.set()

    def flush(self) -> int:
        """Write what is due; returns how many writes failed (they stay due)."""
        with self._lock:
            writes = self.correlator.due()
        failed = 0
        for w in writes:
            ok, gone = self._write(w)
            failed += not ok
            with self._lock:
                self.correlator.written(w, ok, gone)
        return failed

    def _write(self, w: Write) -> tuple[bool, bool]:
        def fold(ev: Obj) -> None:
            meta = ev["metadata"]
            self.client.patch("Event", meta["name"], {
                "count": ev["count"], "lastTimestamp": ev["lastTimestamp"],
                "message": ev["message"]}, namespace=meta["namespace"])
        try:
            return perform(w, self.client.create, fold)
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.debug("writing event %s %s failed (will retry): %s", w.event["reason"],
                      w.event["metadata"]["name"], e)
            return False, False

    def wake(self) -> None:
        """End the ``run`` thread's wait (to flush now, or to see that it was stopped)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Write events as they fall due until ``stop`` (then call ``wake``)."""
        while not stop.is_set():
            self._wake.clear()  # before flushing, so an event recorded meanwhile wakes us
            try:
                failed = self.flush()
            except Exception:  # noqa: BLE001 - this thread must not die
                log.exception("writing events failed")
                failed = 1
            with self._lock:
                wait = self.correlator.next_due_in()
            # Failed writes are retried after a second; otherwise sleep until due or woken.
            delay = 1.0 if failed else (wait if wait is not None else 60.0)
            self._wake.wait(max(delay, 0.05))
