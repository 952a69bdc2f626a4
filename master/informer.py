"""A watch-fed cache of one kind of API object (client-go's shared informer).

``run`` lists the kind through ObjectStore, then watches from the list's
resourceVersion; when the watch's version is compacted (``Gone``) it lists
again and turns the difference into add/update/delete notifications, so a
handler never misses a change for good. Handlers run on the informer's
thread and must only enqueue work (the sample-controller rule).

Cached objects are shared with every reader: treat them as read-only and
``copy.deepcopy`` before changing one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from coxapi import errors
from coxapi.meta import key_of, namespace_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]
AddFn = Callable[[Obj], None]
UpdateFn = Callable[[Obj, Obj], None]
DeleteFn = Callable[[Obj], None]
IndexFn = Callable[[Obj], Iterable[str]]


class Informer:
    def __init__(self, objects: Any, kind: str, namespace: str | None = None,
                 poll: float = 0.1, retry_delay: float = 0.5) -> None:
        self.objects = objects
        self.kind = kind
        self.namespace = namespace
        self.poll = poll
        self.retry_delay = retry_delay
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFn] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._handlers: list[tuple[AddFn | None, UpdateFn | None, DeleteFn | None]] = []
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.resource_version = "0"

    # ---- wiring ----------------------------------------------------------

    def add_handler(self, on_add: AddFn | None = None, on_update: UpdateFn | None = None,
                    on_delete: DeleteFn | None = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))

    def add_index(self, name: str, fn: IndexFn) -> None:
        with self._lock:
            self._indexers[name] = fn
            idx: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for v in fn(obj):
                    idx.setdefault(v, set()).add(key)
            self._indices[name] = idx

    # ---- reads -----------------------------------------------------------

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def get_by(self, namespace: str | None, name: str) -> Obj | None:
        return self.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None) -> list[Obj]:
        with self._lock:
            if namespace is None:
                return list(self._items.values())
            return [o for o in self._items.values() if namespace_of(o) == namespace]

    def by_index(self, name: str, value: str) -> list[Obj]:
        with self._lock:
            keys = self._indices.get(name, {}).get(value, ())
            return [self._items[k] for k in keys if k in self._items]

    def list_keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    # ---- feeding the cache -------------------------------------------------

    def _store(self, key: str, obj: Obj | None) -> Obj | None:
        with self._lock:
            old = self._items.get(key)
            for name, fn in self._indexers.items():
                idx = self._indices[name]
                if old is not None:
                    for v in fn(old):
                        s = idx.get(v)
                        if s is not None:
                            s.discard(key)
                            if not s:
                                del idx[v]
                if obj is not None:
                    for v in fn(obj):
                        idx.setdefault(v, set()).add(key)
            if obj is None:
                self._items.pop(key, None)
            else:
                self._items[key] = obj
            return old

    def _notify(self, old: Obj | None, new: Obj | None) -> None:
        for on_add, on_update, on_delete in self._handlers:
            try:
                if old is None and new is not None:
                    if on_add:
                        on_add(new)
                elif new is None and old is not None:
                    if on_delete:
                        on_delete(old)
                elif on_update and old is not None and new is not None:
                    on_update(old, new)
            except Exception:  # a handler bug must not stop the feed
                log.exception("%s informer: event handler failed", self.kind)

    def apply_event(self, etype: str, obj: Obj) -> None:
        """Feed one watch event (ADDED/MODIFIED/DELETED) into the cache."""
        key = key_of(obj)
        self.resource_version = obj.get("metadata", {}).get("resourceVersion",
                                                            self.resource_version)
        if etype == "DELETED":
            old = self._store(key, None)
            if old is not None:
                self._notify(old, None)
            return
        old = self._store(key, obj)
        self._notify(old, obj)

    def relist(self) -> str:
        """List the kind and make the cache equal to it; returns the list's
        resourceVersion. Differences are delivered as notifications."""
        items, rv, _ = self.objects.list(self.kind, self.namespace)
        fresh = {key_of(o): o for o in items}
        with self._lock:
            gone = [k for k in self._items if k not in fresh]
        for key in gone:
            old = self._store(key, None)
            if old is not None:
                self._notify(old, None)
        for key, obj in fresh.items():
            old = self._store(key, obj)
            if old is None or old.get("metadata", {}).get("resourceVersion") != \
                    obj.get("metadata", {}).get("resourceVersion"):
                self._notify(old, obj)
        self.resource_version = rv
        self._synced.set()
        return rv

    # ---- the loop -------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"informer-{self.kind}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """List, then watch; re-list on ``Gone`` or any error. Never raises."""
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self.relist()
                    need_list = False
                for ev in self.objects.watch(self.kind, self.namespace,
                                             resource_version=self.resource_version,
                                             stop=self._stop.is_set, poll=self.poll):
                    if ev is not None:
                        self.apply_event(*ev)
            except errors.Gone:
                log.info("%s informer: watch version compacted; listing again", self.kind)
                need_list = True
            except Exception as e:  # noqa: BLE001 - the loop never dies
                log.warning("%s informer: %s; listing again", self.kind, e)
                need_list = True
                self._stop.wait(self.retry_delay)
