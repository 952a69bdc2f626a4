"""A list+watch cache of one kind of API object (client-go's shared informer).

The informer lists the kind, then watches from the list's resourceVersion,
keeping a cache (with optional indexes) equal to the API and calling its
handlers on every add, update and delete. It re-lists

- when the watch's version was compacted (``Gone``, 410): at once;
- when the watch failed (a master failover, a dropped stream): after a
  back-off that grows to ``backoff[1]``;
- when the watch stalled: nothing, not even a bookmark or the end of the
  stream, for ``stall_timeout`` seconds (a frozen master, a cut link). A
  stream read cannot be interrupted, so each watch is read by a small pump
  thread; a stalled pump is abandoned and its late events are dropped. (An
  in-process source that cannot stall is read on the informer's thread.)

A watch that simply ends (its ``timeout_seconds`` passed) is watched again
from the last version seen, without a list. Every ``resync_period`` seconds
(0 = never) each cached object is delivered again as an update of itself,
so a handler can re-check state that is not in the API.

Handlers run on the informer's thread (or on whichever thread calls
``relist``) and must only enqueue work (the sample-controller rule). Cached
objects are shared with every reader: treat them as read-only and
``copy.deepcopy`` before changing one.
"""

from __future__ import annotations

import builtins
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from . import errors
from .meta import key_of, namespace_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Event = tuple[str, Obj]
AddFn = Callable[[Obj], None]
UpdateFn = Callable[[Obj, Obj], None]
DeleteFn = Callable[[Obj], None]
IndexFn = Callable[[Obj], Iterable[str]]
NAMESPACE_INDEX = "namespace"


def _namespace_index(obj: Obj) -> list[str]:
    return [namespace_of(obj)]


TICK = 0.2  # seconds between checks of the stop event while a watch is quiet


class ListWatcher(Protocol):
    """The list and watch verbs of ``coxapi.client.Client``; the in-process
    ``ObjectStore`` offers them through ``master.listwatch.StoreListWatcher``.

    ``list`` returns ``{"items": [...], "metadata": {"resourceVersion": rv}}``;
    ``resource_version="0"`` lets it answer from a cache (any recent state).
    ``watch`` yields ``(ADDED|MODIFIED|DELETED|BOOKMARK, object)`` after
    ``resource_version`` (exclusive), raises ``errors.Gone`` when that version
    is compacted, and may end after ``timeout_seconds``. A source whose
    streams cannot stall (in-process, a bookmark at least every fraction of a
    second) says so with ``may_stall = False``: the informer then reads them
    on its own thread, without a pump.
    """

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, *,
             resource_version: str | None = None) -> Obj: ...

    def watch(self, kind: str, namespace: str | None = None,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Iterator[Event]: ...


def version_of(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class Stalled(Exception):
    """No event, bookmark or end of stream within the stall timeout."""


class Informer:
    def __init__(self, source: ListWatcher, kind: str, namespace: str | None = None, *,
                 label_selector: str | None = None, field_selector: str | None = None,
                 watch_timeout: int | None = None, stall_timeout: float = 75.0,
                 resync_period: float = 0.0, backoff: tuple[float, float] = (0.2, 5.0),
                 stale_list: bool = False, name: str | None = None) -> None:
        self.source = source
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.stall_timeout = stall_timeout
        self.resync_period = resync_period
        self.backoff = backoff
        # List with resourceVersion=0, from the master's watch cache (client-go's
        # reflector does): no Raft round trip. See ``relist``.
        self.stale_list = stale_list
        self.name = name or f"informer-{kind}"
        self.relists = 0  # successful lists
        self.stalls = 0  # stalled watches abandoned
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        # index name -> value -> the objects under it by key, in the order they came
        # (a bucket holds the objects, so a read is one lookup); the namespace is
        # always indexed, as client-go's informers do: list(namespace) reads its own
        self._indexers: dict[str, IndexFn] = {NAMESPACE_INDEX: _namespace_index}
        self._indices: dict[str, dict[str, dict[str, Obj]]] = {NAMESPACE_INDEX: {}}
        self._handlers: list[tuple[AddFn | None, UpdateFn | None, DeleteFn | None]] = []
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pump: _Pump | None = None
        self._stream: Any = None  # an in-process stream being read inline
        self._resume = "0"  # the version to watch from
        self._revision = 0  # the newest version this cache reflects (bookmarks included)
        # the version of the latest list applied: an event for an object the cache does
        # not hold, no newer than it, is older than that list's word (see apply_event)
        self._listed = 0

    # ---- wiring ----------------------------------------------------------

    def add_handler(self, on_add: AddFn | None = None, on_update: UpdateFn | None = None,
                    on_delete: DeleteFn | None = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))

    def add_index(self, name: str, fn: IndexFn) -> None:
        """Index the cache by ``fn``. Controllers sharing an informer may each ask
        for the same index (Kubernetes' AddPodControllerUIDIndexer): it is built
        once; the same name with another function is a bug."""
        with self._lock:
            known = self._indexers.get(name)
            if known is fn:
                return
            if known is not None:
                raise ValueError(f"{self.name}: index {name!r} is already {known!r}")
            self._indexers[name] = fn
            idx: dict[str, dict[str, Obj]] = {}
            for key, obj in self._items.items():
                for v in fn(obj):
                    idx.setdefault(v, {})[key] = obj
            self._indices[name] = idx

    # ---- reads -----------------------------------------------------------

    def wait_for_sync(self, timeout: float) -> bool:
        """True once a list has filled the cache (0 s: has it yet?)."""
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
            return list(self._indices[NAMESPACE_INDEX].get(namespace, {}).values())

    @property
    def revision(self) -> int:
        """The store revision this cache reflects."""
        with self._lock:
            return self._revision

    def versioned_list(self) -> tuple[builtins.list[Obj], int]:
        """Every cached object and the store revision they reflect, read together."""
        with self._lock:
            return list(self._items.values()), self._revision

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        with self._lock:
            return list(self._indices.get(name, {}).get(value, {}).values())

    def list_keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    # ---- feeding the cache -------------------------------------------------

    def _store(self, key: str, obj: Obj | None) -> Obj | None:
        with self._lock:
            old = self._items.get(key)
            for name, fn in self._indexers.items():
                idx = self._indices[name]
                values = list(fn(obj)) if obj is not None else []
                if old is not None:
                    for v in fn(old):
                        if v in values:
                            continue  # replaced below, keeping its place
                        bucket = idx.get(v)
                        if bucket is not None:
                            bucket.pop(key, None)
                            if not bucket:
                                del idx[v]
                if obj is not None:
                    for v in values:
                        idx.setdefault(v, {})[key] = obj
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
                log.exception("%s: event handler failed", self.name)

    def _advance(self, rv: str | None) -> None:
        if rv:
            with self._lock:
                self._resume = rv
                self._revision = max(self._revision, version_of({"metadata":
                                                                 {"resourceVersion": rv}}))

    def apply_event(self, etype: str, obj: Obj) -> None:
        """Feed one watch event (ADDED/MODIFIED/DELETED/BOOKMARK) into the cache.

        A list made meanwhile on another thread (``relist``: the node agent lists
        from its sync loop while the watch runs) may be newer than the event: an
        event no newer than the cached version of its object, or for an object a
        newer list no longer has, is stale and skipped. Applied, it would bring back
        a deleted object, or an old version, until the stream caught up (client-go's
        reflector never interleaves the two; here they may)."""
        self._advance((obj.get("metadata") or {}).get("resourceVersion"))
        if etype == "BOOKMARK":
            return
        key = key_of(obj)
        version = version_of(obj)
        with self._lock:
            if version and self._stale(key, version):
                return
            old = self._store(key, None if etype == "DELETED" else obj)
        if etype == "DELETED":
            if old is not None:
                self._notify(old, None)
            return
        self._notify(old, obj)

    def _stale(self, key: str, version: int) -> bool:
        cur = self._items.get(key)
        return version <= (version_of(cur) if cur is not None else self._listed)

    def relist(self, consistent: bool = False) -> str:
        """List the kind and make the cache equal to it; returns the list's
        resourceVersion. Differences are delivered as notifications. Raises
        what the list raised (the cache is then unchanged).

        Safe to call while the informer runs: a cached object newer than the
        list (a watch event that overtook it) is neither replaced nor removed.

        With ``stale_list`` (and not ``consistent``) the list may come from a
        cache; one older than what this cache has already seen (a lagging
        master) is taken again consistently, or it could bring back an object
        whose deletion was watched.
        """
        result = self._list(consistent or not self.stale_list)
        if not consistent and self.stale_list:
            with self._lock:
                seen = self._revision
            if version_of(result) < seen:
                result = self._list(True)
        rv = str((result.get("metadata") or {}).get("resourceVersion") or "0")
        listed = version_of(result)
        fresh = {key_of(o): o for o in result.get("items") or []}
        with self._lock:
            self._listed = max(self._listed, listed)
            gone = [k for k, o in self._items.items()
                    if k not in fresh and version_of(o) <= listed]
        for key in gone:
            old = self._store(key, None)
            if old is not None:
                self._notify(old, None)
        for key, obj in fresh.items():
            with self._lock:
                cur = self._items.get(key)
                if cur is not None and version_of(cur) >= version_of(obj):
                    continue
                old = self._store(key, obj)
            self._notify(old, obj)
        self._advance(rv)
        self.relists += 1
        self._synced.set()
        return rv

    def _list(self, consistent: bool) -> Obj:
        return self.source.list(self.kind, self.namespace, label_selector=self.label_selector,
                                field_selector=self.field_selector,
                                resource_version=None if consistent else "0")

    def resync(self) -> None:
        """Deliver every cached object again as an update of itself."""
        for obj in self.list():
            self._notify(obj, obj)

    # ---- the loop -------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        """End the wait of the loop's current stream, to see a stop."""
        pump = self._pump
        if pump is not None:
            pump.wake()
        interrupt = getattr(self._stream, "interrupt", None)
        if interrupt is not None:
            interrupt()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, stop: threading.Event | None = None) -> None:
        """List, then watch, until ``stop()`` (or ``stop`` is set). Never raises."""
        stopped = (lambda: self._stop.is_set() or stop.is_set()) if stop is not None \
            else self._stop.is_set
        on_set = getattr(stop, "on_set", None)  # a StopEvent wakes the loop when set
        if on_set is not None:
            on_set(self._wake)
        delay = self.backoff[0]
        need_list = True
        next_resync = time.monotonic() + self.resync_period
        while not stopped():
            try:
                if need_list:
                    self.relist()
                    need_list = False
                    delay = self.backoff[0]
                next_resync = self._follow(stopped, next_resync)
            except errors.Gone:
                log.info("%s: watch version compacted; listing again", self.name)
                need_list = True
            except Stalled:
                self.stalls += 1
                log.warning("%s: watch made no progress for %.0fs; listing again",
                            self.name, self.stall_timeout)
                need_list = True
            except Exception as e:  # noqa: BLE001 - the loop never dies
                if stopped():
                    return
                log.warning("%s: %s; listing again in %.1fs", self.name, e, delay)
                need_list = True
                self._wait(stopped, delay)
                delay = min(delay * 2, self.backoff[1])

    def _wait(self, stopped: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stopped() and time.monotonic() < deadline:
            self._stop.wait(min(TICK, max(0.0, deadline - time.monotonic())))

    def _follow(self, stopped: Callable[[], bool], next_resync: float) -> float:
        """Follow one watch stream until it ends or ``stopped()``; returns
        when the next resync is due. Raises what the stream raised, or
        ``Stalled``."""
        with self._lock:
            rv = self._resume

        def open_stream() -> Iterator[Event]:
            return self.source.watch(
                self.kind, self.namespace, resource_version=rv,
                label_selector=self.label_selector, field_selector=self.field_selector,
                timeout_seconds=self.watch_timeout)
        if not getattr(self.source, "may_stall", True):
            return self._follow_inline(open_stream(), stopped, next_resync)
        pump = _Pump(open_stream, f"{self.name}-watch")
        self._pump = pump
        try:
            last = time.monotonic()
            while not stopped():
                now = time.monotonic()
                if self.resync_period and now >= next_resync:
                    self.resync()
                    next_resync = now + self.resync_period
                if now - last > self.stall_timeout:
                    raise Stalled()
                item = pump.next(TICK)
                if item is None:
                    continue
                last = time.monotonic()
                if item is _END:
                    return next_resync
                self.apply_event(*item)
            return next_resync
        finally:
            self._pump = None
            pump.close()

    def _follow_inline(self, stream: Iterator[Event], stopped: Callable[[], bool],
                       next_resync: float) -> float:
        """``_follow`` for a stream that cannot stall (in-process: it yields a
        bookmark at least every poll), read on this thread: no pump thread and
        no queue between the store's watch and the cache, one thread woken per
        event instead of two. A stop interrupts the stream (see ``stop``)."""
        self._stream = stream
        try:
            if stopped():  # a stop that came before the stream could be interrupted
                return next_resync
            for item in stream:
                if stopped():
                    break
                if self.resync_period and time.monotonic() >= next_resync:
                    self.resync()
                    next_resync = time.monotonic() + self.resync_period
                self.apply_event(*item)
            return next_resync
        finally:
            self._stream = None
            close = getattr(stream, "close", None)
            if close is not None:
                close()


_END: Any = object()


class _Pump:
    """Reads one watch stream on its own thread into a queue, so the
    informer can give up on a stream that stopped answering."""

    def __init__(self, open_stream: Callable[[], Iterator[Event]], name: str) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(open_stream,), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, open_stream: Callable[[], Iterator[Event]]) -> None:
        stream: Iterator[Event] | None = None
        try:
            stream = open_stream()
            for event in stream:
                if self._closed.is_set():
                    return
                self._queue.put(event)
            self._queue.put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the informer's thread
            self._queue.put(e)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def next(self, timeout: float) -> Event | Any | None:
        """The next event, ``_END``, or None when nothing came within ``timeout``."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def wake(self) -> None:
        """Make a waiting ``next`` return now (to notice a stop)."""
        self._queue.put(None)

    def close(self) -> None:
        """Abandon the stream. A pump blocked in a read (an HTTP stream) ends
        at its next event or bookmark; it is a daemon and its events are
        dropped. An in-process stream ends within its poll."""
        self._closed.set()
        self._thread.join(TICK)
