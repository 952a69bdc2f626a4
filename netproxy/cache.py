"""A list+watch cache of one kind of object, kept in step with the API.

Lists, then watches from the list's resourceVersion; on a watch error (410
Gone after compaction, a master failover, a dropped stream) it re-lists and
watches again with back-off. The client itself moves between masters. Every
change calls ``on_change``, which must not block.

A watch stream has no read timeout, so a frozen master (SIGSTOP, a cut
link) would hang it silently. A supervisor therefore replaces a worker that
made no progress (no event, no end of stream) for ``watch_timeout`` plus a
grace period; the stuck worker is abandoned and its late events ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ApiClient(Protocol):
    """What netproxy needs of ``coxapi.client.Client``."""

    def list(self, kind: str, namespace: str | None = None) -> Obj: ...

    def watch(self, kind: str, namespace: str | None = None,
              resource_version: str | int | None = None,
              timeout_seconds: int | None = None) -> Iterator[tuple[str, Obj]]: ...


def object_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "default", meta.get("name") or "")


class WatchCache:
    def __init__(self, client: ApiClient, kind: str, on_change: Callable[[], None],
                 stop: threading.Event, watch_timeout: float = 60,
                 backoff: tuple[float, float] = (0.2, 5.0), stall_grace: float = 15.0) -> None:
        self.client = client
        self.kind = kind
        self.on_change = on_change
        self.stop = stop
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.stall_grace = stall_grace
        self.synced = threading.Event()
        self.relists = 0
        self.restarts = 0  # stalled workers replaced
        self._objects: dict[tuple[str, str], Obj] = {}
        self._revision = 0  # the newest resourceVersion this cache reflects
        self._lock = threading.Lock()
        self._generation = 0
        self._progress = time.monotonic()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    def versioned_snapshot(self) -> tuple[list[Obj], int]:
        """The objects and the store revision they reflect, read together."""
        with self._lock:
            return list(self._objects.values()), self._revision

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=f"netproxy-{self.kind}",
                                        daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                self._generation += 1
                generation = self._generation
                self._progress = time.monotonic()
            worker = threading.Thread(target=self._work, args=(generation,),
                                      name=f"netproxy-{self.kind}-{generation}", daemon=True)
            worker.start()
            while worker.is_alive() and not self.stop.is_set():
                worker.join(0.5)
                with self._lock:
                    idle = time.monotonic() - self._progress
                if idle > self.watch_timeout + self.stall_grace:
                    log.warning("%s watch made no progress for %.0fs; starting a new one",
                                self.kind, idle)
                    self.restarts += 1
                    break

    def _current(self, generation: int) -> bool:
        """Note progress; False once this worker has been replaced."""
        with self._lock:
            if generation != self._generation:
                return False
            self._progress = time.monotonic()
            return True

    def _work(self, generation: int) -> None:
        delay = self.backoff[0]
        while not self.stop.is_set() and self._current(generation):
            try:
                rv = self._list(generation)
                delay = self.backoff[0]
                while not self.stop.is_set() and self._current(generation):
                    rv = self._watch(rv, generation)
            except Exception as e:  # noqa: BLE001 - a cache never dies; it re-lists
                if self.stop.is_set() or not self._current(generation):
                    return
                log.warning("%s watch failed (%s); re-listing in %.1fs", self.kind, e, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])

    def _list(self, generation: int) -> str | None:
        result = self.client.list(self.kind)
        objects = {object_key(o): o for o in result.get("items") or []}
        rv = (result.get("metadata") or {}).get("resourceVersion")
        with self._lock:
            if generation != self._generation:
                raise _Replaced()
            self._objects = objects
            self._revision = max(self._revision, _as_int(rv))
            self._progress = time.monotonic()
        self.relists += 1
        self.synced.set()
        self.on_change()
        return rv

    def _watch(self, rv: str | None, generation: int) -> str | None:
        """Follow one watch stream; returns the resourceVersion to resume from."""
        for etype, obj in self.client.watch(self.kind, resource_version=rv,
                                            timeout_seconds=self.watch_timeout):
            if self.stop.is_set():
                return rv
            rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
            key = object_key(obj)
            with self._lock:
                if generation != self._generation:
                    raise _Replaced()
                self._progress = time.monotonic()
                self._revision = max(self._revision, _as_int(rv))
                if etype == "BOOKMARK":
                    continue
                if etype == "DELETED":
                    self._objects.pop(key, None)
                else:
                    self._objects[key] = obj
            self.on_change()
        return rv


def _as_int(rv: str | None) -> int:
    try:
        return int(rv or 0)
    except ValueError:
        return 0


class _Replaced(Exception):
    """This worker was declared stalled and replaced; it must stop."""
