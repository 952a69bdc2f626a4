"""A list+watch cache of one kind of object, kept in step with the API.

Lists, then watches from the list's resourceVersion; on a watch error (410
Gone after compaction, a master failover, a dropped stream) it re-lists and
watches again with back-off. The client itself moves between masters. Every
change calls ``on_change``, which must not block.
"""

from __future__ import annotations

import logging
import threading
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
                 stop: threading.Event, watch_timeout: int = 60,
                 backoff: tuple[float, float] = (0.2, 5.0)) -> None:
        self.client = client
        self.kind = kind
        self.on_change = on_change
        self.stop = stop
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.synced = threading.Event()
        self.relists = 0
        self._objects: dict[tuple[str, str], Obj] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"netproxy-{self.kind}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self.stop.is_set():
            try:
                rv = self._list()
                delay = self.backoff[0]
                while not self.stop.is_set():
                    rv = self._watch(rv)
            except Exception as e:  # noqa: BLE001 - a cache never dies; it re-lists
                if self.stop.is_set():
                    return
                log.warning("%s watch failed (%s); re-listing in %.1fs", self.kind, e, delay)
                self.stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])

    def _list(self) -> str | None:
        result = self.client.list(self.kind)
        objects = {object_key(o): o for o in result.get("items") or []}
        with self._lock:
            self._objects = objects
        self.relists += 1
        self.synced.set()
        self.on_change()
        return (result.get("metadata") or {}).get("resourceVersion")

    def _watch(self, rv: str | None) -> str | None:
        """Follow one watch stream; returns the resourceVersion to resume from."""
        for etype, obj in self.client.watch(self.kind, resource_version=rv,
                                            timeout_seconds=self.watch_timeout):
            if self.stop.is_set():
                return rv
            rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
            if etype == "BOOKMARK":
                continue
            key = object_key(obj)
            with self._lock:
                if etype == "DELETED":
                    self._objects.pop(key, None)
                else:
                    self._objects[key] = obj
            self.on_change()
        return rv
