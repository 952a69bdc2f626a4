"""The watch cache of one master (Kubernetes' cacher).

Per kind, ONE watch of the store (prefix ``/registry/<plural>/``) keeps the
current objects and a bounded ring of recent events. API watches and
``resourceVersion=0`` lists are served from here, not from the store: each
event becomes an API object, encoded to JSON once when first sent or listed,
and those bytes are shared by every watcher and every list.

A feeder thread per kind drains the store watch. Every change to a cache is
made under its lock, in revision order, and handed to the ``Sink`` (the API's
event loop) while the lock is held, so the sink sees batches in order and a
watcher registered under the lock (``open``) gets each event exactly once:
those up to the revision it registered at from its backlog, later ones from
the sink. ``revision`` is how far the cache has caught up with the store:
every event up to it is applied, even when none of them was of this kind.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from coxapi import kinds, labels
from raftstore import errors as store_errors

from .objects import Obj, event_object, to_object

log = logging.getLogger(__name__)

# Events kept per kind for watches from a recent resourceVersion; an older one
# is replayed from the store's own history while the store still has it.
DEFAULT_CAPACITY = 5_000
# Kinds whose cache starts only when a list or watch first asks for it, not
# with the API: Events are the most written kind (several per pod) and the
# least watched, and a cache decodes every write on every master. Kubernetes
# keeps no watch cache for Events at all (kube-apiserver's default size 0).
ON_FIRST_USE = frozenset({"events"})
# The field a kind's objects are also kept by, so that a list or watch asking
# for one value of it (every node agent asks for its own pods; the scheduler
# for the unbound ones, ``spec.nodeName=``) meets those objects alone, not
# every object of the kind: Kubernetes' cacher indexes pods by node name too.
INDEXED_FIELDS = {"pods": "spec.nodeName"}
_RETRY_SECONDS = 1.0


def encode(obj: Obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def event_line(event_type: str, raw: bytes) -> bytes:
    """One watch event as Kubernetes streams it, from the object's JSON."""
    return b'{"type":"' + event_type.encode() + b'","object":' + raw + b"}\n"


class Entry:
    """One object of the cache. Its JSON is made when first asked for (a
    watcher's line, a list) and kept: most kinds' events are never sent to
    any watcher, so encoding each on arrival was spent for nothing. The object
    is never changed once cached, so two threads encoding it at once make
    the same bytes."""

    __slots__ = ("key", "obj", "_raw")

    def __init__(self, key: str, obj: Obj, raw: bytes | None = None) -> None:
        self.key, self.obj, self._raw = key, obj, raw

    @property
    def raw(self) -> bytes:
        raw = self._raw
        if raw is None:
            raw = self._raw = encode(self.obj)
        return raw


class CachedEvent:
    __slots__ = ("revision", "type", "entry", "_line")

    def __init__(self, revision: int, event_type: str, entry: Entry) -> None:
        self.revision, self.type, self.entry = revision, event_type, entry
        self._line: bytes | None = None

    @property
    def line(self) -> bytes:
        """The whole watch line, encoded once for every watcher."""
        line = self._line
        if line is None:
            line = self._line = event_line(self.type, self.entry.raw)
        return line


class Sink(Protocol):
    """Where a cache sends its changes; called with the cache's lock held."""

    def events(self, cache: KindCache, batch: list[CachedEvent], revision: int) -> None: ...

    def reset(self, cache: KindCache) -> None:
        """The cache was rebuilt from a new list: its watchers must watch again."""


@dataclass(frozen=True)
class Backlog:
    """What a new watcher gets before live events: the current objects (a watch
    without a version) or the events after its version; ``revision`` is where
    its live events start (exclusive)."""
    objects: list[Entry] | None
    events: list[CachedEvent]
    revision: int


def field_value(obj: Obj, field: str) -> str:
    """A field's value as a field selector compares it (master.api.fields,
    which uses this one): "" when absent."""
    cur: Any = obj
    for part in field.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if field == "source" and isinstance(cur, dict):  # Event.source is an object
        cur = cur.get("component")
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def _filtered(entries: list[Entry], revision: int, selector: labels.Selector,
              predicate: Callable[[Obj], bool] | None, limit: int
              ) -> tuple[list[Entry], int, str | None]:
    """The entries that pass the selector and predicate, up to ``limit``;
    ``(entries, revision, the continue key when more may follow)``."""
    out: list[Entry] = []
    for i, e in enumerate(entries):
        if selector and not labels.matches(selector, e.obj["metadata"].get("labels")):
            continue
        if predicate and not predicate(e.obj):
            continue
        out.append(e)
        if limit and len(out) >= limit:
            return out, revision, (e.key if i + 1 < len(entries) else None)
    return out, revision, None


def _prefix_end(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class KindCache:
    def __init__(self, store: Any, kind: kinds.Kind, sink: Sink,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        self.store, self.kind, self.sink = store, kind, sink
        self.prefix = kind.storage_prefix()
        self._lock = threading.Lock()
        self._objects: dict[str, Entry] = {}
        self._keys: list[str] | None = []  # sorted; None after an add or delete
        self.indexed_field = INDEXED_FIELDS.get(kind.plural)
        self._by_value: dict[str, dict[str, Entry]] = {}  # by the indexed field's value
        self._ring: deque[CachedEvent] = deque(maxlen=capacity)
        self.floor = 0  # every event after this revision is in the ring
        self.revision = 0
        self.generation = 0  # grows with each (re)list; watchers of an older one are ended
        self.ready = threading.Event()
        self._watch: Any = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"watchcache-{self.kind.plural}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            w = self._watch
        if w is not None:
            w.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._relist()
                self._follow()
                return  # the store closed its watches: it is shutting down
            except store_errors.Compacted as e:
                log.info("watch cache of %s: relisting (%s)", self.kind.plural, e)
            except store_errors.StoreError as e:
                log.warning("watch cache of %s: %s; retrying", self.kind.plural, e)
                self._stopped.wait(_RETRY_SECONDS)
            except Exception:  # noqa: BLE001 - keep the cache alive; the log says why
                log.exception("watch cache of %s failed; retrying", self.kind.plural)
                self._stopped.wait(_RETRY_SECONDS)

    def _relist(self) -> None:
        res = self.store.range(self.prefix, linearizable=False)
        # Watch from the list's revision: nothing between the two is missed.
        w = self.store.watch(self.prefix, start_revision=res.revision + 1)
        w.prev_kv = False  # the cache holds each object's last state itself
        objects = {}
        for kv in res.kvs:
            obj = to_object(self.kind, kv)
            objects[kv.key] = Entry(kv.key, obj)
        by_value: dict[str, dict[str, Entry]] = {}
        if self.indexed_field is not None:
            for key, e in objects.items():
                by_value.setdefault(field_value(e.obj, self.indexed_field), {})[key] = e
        with self._lock:
            old, self._watch = self._watch, w
            if self._stopped.is_set():
                w.close()
            self._objects, self._keys, self._by_value = objects, None, by_value
            self._ring.clear()
            self.floor = self.revision = res.revision
            self.generation += 1
            self.ready.set()
            self.sink.reset(self)
        if old is not None:
            old.close()

    def _follow(self) -> None:
        w = self._watch
        while not self._stopped.is_set():
            w.wait(timeout=None)
            with self._lock:
                self._catch_up()
            if w.closed:
                w.get(timeout=0)  # raises the error that closed it, if any
                return

    def _catch_up(self) -> None:
        """Apply what the store watch holds. The store's revision is read first:
        every event up to it is queued by then (the store publishes before it
        moves on), so once the queue is drained the cache is at that revision."""
        rev = self.store.revision()
        batch = []
        while (ev := self._watch.get(timeout=0)) is not None:
            batch.append(self._apply(ev))
        top = max(rev, self.revision, batch[-1].revision if batch else 0)
        if batch or top > self.revision:
            self.revision = top
            self.sink.events(self, batch, top)

    def _apply(self, ev: Any) -> CachedEvent:
        event_type, obj = event_object(self.kind, ev)
        entry = Entry(ev.kv.key, obj)
        if event_type == "DELETED":
            old = self._objects.pop(entry.key, None)
            if old is not None:
                self._keys = None
        else:
            old = self._objects.get(entry.key)
            if old is None:
                self._keys = None
            self._objects[entry.key] = entry
        if self.indexed_field is not None:
            self._reindex(old, entry if event_type != "DELETED" else None)
        if len(self._ring) == self._ring.maxlen:
            self.floor = self._ring[0].revision
        cached = CachedEvent(ev.revision, event_type, entry)
        self._ring.append(cached)
        return cached

    def _reindex(self, old: Entry | None, new: Entry | None) -> None:
        field = self.indexed_field
        assert field is not None
        if old is not None:
            value = field_value(old.obj, field)
            bucket = self._by_value.get(value)
            if bucket is not None:
                bucket.pop(old.key, None)
                if not bucket:
                    del self._by_value[value]
        if new is not None:
            self._by_value.setdefault(field_value(new.obj, field), {})[new.key] = new

    # ---- reads --------------------------------------------------------------

    def sync(self, revision: int, timeout: float) -> bool:
        """Catch up with the store up to ``revision`` (a revision this replica
        has applied, e.g. from a linearizable read); False if still not filled
        after ``timeout`` seconds."""
        if not self.ready.wait(timeout):
            return False
        with self._lock:
            if self._watch is None:
                return False
            if self.revision < revision:
                self._catch_up()
            return self.revision >= revision

    def wait_for(self, revision: int, timeout: float, poll: float = 0.005) -> bool:
        """``sync``, again every ``poll`` seconds for up to ``timeout`` while this
        replica has not applied ``revision`` yet (it trails the one that wrote it
        by a commit's round trip)."""
        deadline = time.monotonic() + timeout
        while not self.sync(revision, 0):
            if time.monotonic() >= deadline or self._stopped.wait(poll):
                return False
        return True

    def _sorted_keys(self) -> list[str]:
        if self._keys is None:
            self._keys = sorted(self._objects)
        return self._keys

    def _bounds(self, namespace: str | None, start_after: str | None = None
                ) -> tuple[list[str], int, int]:
        """The sorted keys and the slice of them in ``namespace`` (after ``start_after``)."""
        prefix = self.kind.storage_prefix(namespace)
        keys = self._sorted_keys()
        lo = (bisect.bisect_right(keys, start_after) if start_after
              else bisect.bisect_left(keys, prefix))
        return keys, lo, bisect.bisect_left(keys, _prefix_end(prefix))

    def _range(self, namespace: str | None) -> list[str]:
        keys, lo, hi = self._bounds(namespace)
        return keys[lo:hi]

    def _indexed(self, namespace: str | None, start_after: str | None,
                 value: str) -> list[Entry]:
        """The objects in ``namespace`` (after ``start_after``) whose indexed
        field is ``value``, in key order."""
        bucket = self._by_value.get(value)
        if not bucket:
            return []
        prefix = self.kind.storage_prefix(namespace)
        end = _prefix_end(prefix)
        low = start_after or ""
        return [bucket[k] for k in sorted(bucket) if prefix <= k < end and k > low]

    def get(self, key: str) -> Entry | None:
        """The object stored at ``key``, as the cache holds it."""
        with self._lock:
            return self._objects.get(key)

    def count(self, namespace: str | None, continue_key: str | None = None,
              indexed: str | None = None) -> int:
        """How many objects a list of ``namespace`` (after ``continue_key``)
        would look at, before any selector: what such a list costs.
        ``indexed``: the value the list requires of ``indexed_field``."""
        with self._lock:
            if indexed is not None and self.indexed_field is not None:
                return len(self._by_value.get(indexed) or ())  # an upper bound
            _, lo, hi = self._bounds(namespace, continue_key)
            return max(0, hi - lo)

    def list(self, namespace: str | None, selector: labels.Selector = (),
             predicate: Callable[[Obj], bool] | None = None, limit: int = 0,
             continue_key: str | None = None, indexed: str | None = None
             ) -> tuple[list[Entry], int, str | None]:
        """Like ``ObjectStore.list``, from memory: ``(entries, revision, continue)``.
        The entries in range are taken under the lock (they are immutable) and
        filtered outside it; a page without filters takes only its own.
        ``indexed``: the value the ``predicate`` requires of ``indexed_field``:
        only the objects filed under it are looked at."""
        with self._lock:
            if indexed is not None and self.indexed_field is not None:
                entries = self._indexed(namespace, continue_key, indexed)
            else:
                keys, lo, hi = self._bounds(namespace, continue_key)
                if limit and not selector and not predicate:
                    hi_page = min(hi, lo + limit)
                    entries = [self._objects[k] for k in keys[lo:hi_page]]
                    more = hi_page < hi
                    return entries, self.revision, (entries[-1].key if more else None)
                entries = [self._objects[k] for k in keys[lo:hi]]
            revision = self.revision
        return _filtered(entries, revision, selector, predicate, limit)

    def open(self, namespace: str | None, after: int | None,
             register: Callable[[int], None]) -> Backlog | None:
        """Start a watch: under the lock, take its backlog and ``register`` it
        at the backlog's revision. ``after`` None: the current objects; else the
        events after that revision, or None when the ring no longer reaches back
        that far (nothing is registered then)."""
        with self._lock:
            if after is None:
                entries = [self._objects[k] for k in self._range(namespace)]
                register(self.revision)
                return Backlog(entries, [], self.revision)
            if after < self.floor:
                return None
            prefix = self.kind.storage_prefix(namespace)
            events = []
            for ev in reversed(self._ring):
                if ev.revision <= after:
                    break
                if ev.entry.key.startswith(prefix):
                    events.append(ev)
            events.reverse()
            top = max(after, self.revision)
            register(top)
            return Backlog(None, events, top)


class WatchCaches:
    """The caches of every kind; each starts on first use, or with
    ``start_all`` (a master does, when its API starts: all but ``ON_FIRST_USE``)."""

    def __init__(self, store: Any, sink: Sink, capacity: int = DEFAULT_CAPACITY) -> None:
        self.store, self.sink, self.capacity = store, sink, capacity
        self._lock = threading.Lock()
        self._caches: dict[str, KindCache] = {}
        self._stopped = False

    def get(self, kind: kinds.Kind) -> KindCache:
        with self._lock:
            cache = self._caches.get(kind.plural)
            if cache is None:
                cache = self._caches[kind.plural] = KindCache(self.store, kind, self.sink,
                                                              self.capacity)
                if not self._stopped:
                    cache.start()
            return cache

    def start_all(self) -> None:
        for kind in kinds.KINDS:
            if kind.plural not in ON_FIRST_USE:
                self.get(kind)

    def started(self) -> set[str]:
        """The kinds (plurals) whose cache runs."""
        with self._lock:
            return set(self._caches)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            caches = list(self._caches.values())
        for c in caches:
            c.stop()
