"""The owner of a process's long-lived threads: starts them, notices one
that dies, and joins them all on stop.

Every thread runs ``target(stop)`` and must return once ``stop`` is set.
A thread that returns or raises while ``stop`` is still clear died
unexpectedly: that is logged (with the traceback) and its name is listed
in ``died``, so a process can report it instead of limping on silently.
A ``oneshot`` thread has a job that may be done before stop: only its
raising counts as dying.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class StopEvent(threading.Event):
    """A stop event that also calls back whoever asked (``on_set``) when it is
    set, so a thread asleep on something else (a work queue's condition) is
    woken at once instead of polling the event."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], object]] = []
        self._callbacks_lock = threading.Lock()

    def on_set(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the event is set (now, if it already is)."""
        with self._callbacks_lock:
            if not self.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def set(self) -> None:
        with self._callbacks_lock:
            super().set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


class Supervisor:
    def __init__(self, name: str, stop: threading.Event | None = None) -> None:
        self.name = name
        self.stop_event = stop if stop is not None else StopEvent()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._died: list[str] = []

    @property
    def died(self) -> list[str]:
        """Names of the threads that ended before stop, in the order they ended."""
        with self._lock:
            return list(self._died)

    def spawn(self, name: str, target: Callable[[threading.Event], object], *,
              oneshot: bool = False) -> threading.Thread:
        t = threading.Thread(target=self._run, args=(name, target, oneshot), name=name,
                             daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()
        return t

    def _run(self, name: str, target: Callable[[threading.Event], object],
             oneshot: bool) -> None:
        try:
            target(self.stop_event)
        except Exception:  # noqa: BLE001 - reported below, never re-raised into nowhere
            if self.stop_event.is_set():
                log.warning("%s: thread %s failed while stopping", self.name, name,
                            exc_info=True)
                return
            log.exception("%s: thread %s died", self.name, name)
        else:
            if self.stop_event.is_set() or oneshot:
                return
            log.error("%s: thread %s ended before stop", self.name, name)
        with self._lock:
            self._died.append(name)

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float) -> list[str]:
        """Join every thread within ``timeout`` seconds in all; returns (and
        logs) the names of those still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive() and t is not threading.current_thread()]
        if alive:
            log.warning("%s: threads still running after stop: %s", self.name, ", ".join(alive))
        return alive
