"""Fan-out of applied events to watchers.

Publishing never blocks the apply path: each watcher has a bounded queue, and a
watcher that falls too far behind is closed with ``Compacted`` (the client
re-watches from the last revision it saw, as with etcd).

The queues hold the applied records; ``get`` decodes each into an ``Event``
for its watcher alone, outside every lock. So the apply path decodes nothing,
no event is decoded for a prefix nobody watches, and each watcher owns the
values it gets: it may change them (the master turns them into API objects in
place) without a copy, and without touching another watcher's. Decoding the
JSON again costs a quarter of a ``copy.deepcopy`` of the decoded value."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from .errors import Compacted
from .mvcc import HistoryEntry, to_event
from .types import Event

DEFAULT_QUEUE_SIZE = 10_000


class Watch:
    """Events on one prefix, in revision order. ``get`` returns the next event,
    or None on timeout or once closed; it raises ``Compacted`` if the watcher
    overflowed."""

    def __init__(self, hub: WatchHub, prefix: str, max_queue: int) -> None:
        self._hub = hub
        self.prefix = prefix
        self._max = max_queue
        self._queue: deque[HistoryEntry] = deque()
        self._cond = threading.Condition()
        self._error: Exception | None = None
        self.closed = False
        self.last_revision = 0
        # applied to each event ``get`` returns (the master's decryption at rest)
        self.transform: Callable[[Event], Event] | None = None
        # whether events carry the previous value (etcd's WithPrevKV); a
        # watcher that keeps its own copy of each object sets it False
        self.prev_kv = True

    def _offer(self, events: list[HistoryEntry]) -> None:
        with self._cond:
            if self.closed:
                return
            if len(self._queue) + len(events) > self._max:
                self._queue.clear()
                self._error = Compacted(
                    self.last_revision,
                    f"watch on {self.prefix!r} fell more than {self._max} events behind; "
                    f"re-watch from revision {self.last_revision + 1}")
                self.closed = True
                self._hub._remove(self)
            else:
                self._queue.extend(events)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, decoded for this watcher alone (its values are the caller's)."""
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait_for(lambda: self._queue or self.closed, timeout)
            if self._queue:
                h = self._queue.popleft()
                self.last_revision = h.revision
            elif self._error is not None:
                err, self._error = self._error, None
                raise err
            else:
                return None
        ev = to_event(h, self.prev_kv)
        return self.transform(ev) if self.transform is not None else ev

    def wait(self, timeout: float | None = None) -> bool:
        """Block until an event is queued or the watch is closed, without taking
        it (a consumer that must read the store's revision before draining)."""
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._queue) or self.closed, timeout)

    def __iter__(self) -> Iterator[Event]:
        while True:
            ev = self.get(timeout=None)
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._hub._remove(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A watcher whose prefix reaches this many "/" is filed under the key's
# first segments ("/registry/pods/"): an event is matched against the
# watchers of its own resource and the few broader ones, not against all.
_BUCKET_SLASHES = 3


def bucket_of(key: str) -> str | None:
    """``key`` up to and including its third "/", or None when it has fewer.
    A key that starts with a prefix holding three "/" has that prefix's bucket."""
    end = -1
    for _ in range(_BUCKET_SLASHES):
        end = key.find("/", end + 1)
        if end < 0:
            return None
    return key[:end + 1]


class WatchHub:
    """Holds the watchers. ``register`` and ``publish`` must be called under the
    store's apply lock so a new watcher sees history and live events exactly once."""

    def __init__(self, max_queue: int = DEFAULT_QUEUE_SIZE) -> None:
        self._watchers: set[Watch] = set()
        self._lock = threading.Lock()
        self.max_queue = max_queue
        # (watchers with a short prefix, watchers by bucket): replaced whole
        # under the lock when a watcher comes or goes, read without it
        self._index: tuple[tuple[Watch, ...], dict[str, tuple[Watch, ...]]] = ((), {})

    def register(self, prefix: str, replay: Iterable[HistoryEntry]) -> Watch:
        w = Watch(self, prefix, self.max_queue)
        # the replay may exceed the queue bound; only live events count against it
        w._queue.extend(replay)
        with self._lock:
            if not w.closed:
                self._watchers.add(w)
                self._reindex()
        return w

    def _reindex(self) -> None:
        broad: list[Watch] = []
        buckets: dict[str, list[Watch]] = {}
        for w in self._watchers:
            b = bucket_of(w.prefix)
            if b is None:
                broad.append(w)
            else:
                buckets.setdefault(b, []).append(w)
        self._index = (tuple(broad), {b: tuple(ws) for b, ws in buckets.items()})

    def publish(self, entries: list[HistoryEntry]) -> None:
        if not entries or not self._watchers:
            return
        broad, buckets = self._index
        mine: dict[Watch, list[HistoryEntry]] = {}
        for h in entries:
            for w in (*broad, *buckets.get(bucket_of(h.key) or "", ())):
                if h.key.startswith(w.prefix):
                    mine.setdefault(w, []).append(h)
        for w, events in mine.items():
            w._offer(events)

    def _remove(self, w: Watch) -> None:
        with self._lock:
            if w in self._watchers:
                self._watchers.discard(w)
                self._reindex()

    def fail_all(self, error: Exception) -> None:
        """End every watch with ``error`` (raised from its next ``get``)."""
        with self._lock:
            watchers = list(self._watchers)
            self._watchers.clear()
            self._reindex()
        for w in watchers:
            with w._cond:
                w._queue.clear()
                w._error = error
                w.closed = True
                w._cond.notify_all()

    def close_all(self) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for w in watchers:
            w.close()

    def __len__(self) -> int:
        return len(self._watchers)
