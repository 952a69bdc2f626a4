"""Watch streams on the event loop: one JSON event per line, as Kubernetes sends them.

Every watch is served from the master's watch cache (master.watchcache) and
costs no thread. A watch without a version (or "0") first gets ADDED for every
existing object (without a version, from a cache caught up with a
linearizable read, so a missing quorum is a plain 503 rather than a broken
stream); one from a version gets the events after it (exclusive) from the
cache's ring, or replayed from the store's history when older than the ring.
Then live events: the cache's feeder threads hand each batch to the loop
(``Broadcaster``), which gathers what arrives within one pass of the loop
(while commits keep coming, within ``watch_coalesce_seconds`` of the last
flush) and then, per filter (``watchroute``: a pod event only meets the filters of
its own node and the unindexed ones), joins the matching lines (encoded once
by the cache) into one chunk: watchers with the same filter share the check
and the bytes. A
watcher that is keeping up gets that chunk written straight to its
connection (``Wire``), with no task switch; one whose connection is full, or
that has lines waiting, queues it for its own task, which sends through the
server's flow control. Errors after the stream began (a compacted version: 410
Gone; a store without a leader: 503) arrive as an ``ERROR`` event carrying a
Status and end the stream. A watcher that falls ``queue_limit`` events behind
(its client does not read) is cut off without holding up the others; its
client watches again from the last version it saw.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from coxapi import errors, kinds, labels
from raftstore import Store
from raftstore import errors as store_errors

from ..objects import event_object, translate_store_error
from ..watchcache import Backlog, CachedEvent, Entry, KindCache, encode, event_line
from . import fields
from .config import ApiConfig
from .params import ListOptions
from .paths import Target
from .storehealth import LeaderTracker
from .tables import TableRequest
from .watchroute import TRIGGER_FIELDS, FilterGroups

log = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

QUEUE_LIMIT = 2_000  # events queued for one watcher before it is cut off
READY_TIMEOUT = 10.0  # seconds a watch waits for its kind's cache to fill
HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-cache, private")]


def error_line(err: errors.ApiError) -> bytes:
    return event_line("ERROR", encode(err.to_status()))


def _bookmark(kind: kinds.Kind, rv: int) -> bytes:
    return event_line("BOOKMARK", encode({"kind": kind.kind, "apiVersion": kind.api_version,
                                          "metadata": {"resourceVersion": str(rv)}}))


@dataclass(frozen=True)
class Filter:
    """What a watcher wants; watchers with equal filters share one check per event."""
    prefix: str  # the namespace's key prefix, or the kind's
    label_selector: labels.Selector = ()
    field_selector: fields.FieldSelector = ()
    table: TableRequest | None = None  # the events' objects as Tables (server-side printing)
    at: kinds.Kind | None = None  # the kind at the version watched, if not the stored one

    def line(self, kind: kinds.Kind, event_type: str, e: Entry, raw_line: bytes | None = None
             ) -> bytes:
        """The watch line of one event for this filter's watchers."""
        if self.table is not None:
            return event_line(event_type, self.table.encode(self.at or kind, [e.obj]))
        if self.at is not None:  # the cache's JSON is the stored version's
            return event_line(event_type, encode(self.at.from_stored(e.obj)))
        return raw_line if raw_line is not None else event_line(event_type, e.raw)

    def matches(self, e: Entry) -> bool:
        if not e.key.startswith(self.prefix):
            return False
        if self.label_selector and not labels.matches(self.label_selector,
                                                      e.obj["metadata"].get("labels")):
            return False
        return not self.field_selector or fields.matches(self.field_selector, e.obj)


# Where uvicorn's httptools protocol keeps its request/response cycle: one that
# frames the body itself (h11's does not), on attributes ``Wire`` reads.
_HTTPTOOLS_CYCLE = "uvicorn.protocols.http.httptools_impl"


def frame(chunk: bytes) -> bytes:
    """One chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%b\r\n" % (len(chunk), chunk)


class Wire:
    """The connection under one streamed response of uvicorn's httptools
    protocol, for writing body chunks straight to its transport: one call per
    watcher per batch instead of a task switch and an ASGI ``send`` each. Only
    once the response has started, in chunked encoding, while nothing else is
    being sent on it; ``writable`` is false while the client is not reading
    (the transport paused us), so lines then queue and the cut-off applies."""

    __slots__ = ("cycle", "flow", "transport")

    def __init__(self, cycle: Any) -> None:
        self.cycle, self.flow, self.transport = cycle, cycle.flow, cycle.transport

    @classmethod
    def of(cls, send: Send) -> Wire | None:
        """The wire under ``send`` (a bound ``RequestResponseCycle.send``), or
        None under any other server: then every line goes through ``send``."""
        cycle = getattr(send, "__self__", None)
        if type(cycle).__module__ == _HTTPTOOLS_CYCLE and all(
                hasattr(cycle, a) for a in ("transport", "flow", "disconnected",
                                            "chunked_encoding", "response_complete")):
            return cls(cycle)
        return None

    def writable(self) -> bool:
        c = self.cycle
        return (c.chunked_encoding and not c.response_complete and not c.disconnected
                and not self.flow.write_paused and not self.transport.is_closing())


class Watcher:
    """One open watch stream: its queue of lines and how far it has got."""

    __slots__ = ("kind", "filter", "bookmarks", "limit", "rv", "generation", "lines", "queued",
                 "wake", "done", "cut_off", "sending", "last_sent", "task", "wire")

    def __init__(self, kind: kinds.Kind, filt: Filter, bookmarks: bool, limit: int,
                 now: float) -> None:
        self.kind, self.filter, self.bookmarks, self.limit = kind, filt, bookmarks, limit
        self.rv = 0  # the last revision this watcher has been given (or has no events up to)
        self.generation = 0  # of the cache it was registered with
        self.lines: list[bytes] = []  # chunks for the task to send, in order
        self.queued = 0  # events in ``lines``
        self.wake = asyncio.Event()
        self.done = self.cut_off = self.sending = False
        self.last_sent = now
        self.task = asyncio.current_task()
        self.wire: Wire | None = None  # set by the task once its backlog is sent

    def take(self, events: list[CachedEvent], chunk: bytes, framed: bytes, now: float) -> None:
        """Deliver a batch that matches its filter: ``chunk`` is the events'
        lines joined, ``framed`` that as one HTTP chunk."""
        if self.done or events[-1].revision <= self.rv:
            return  # ended, or already in its backlog
        if events[0].revision <= self.rv:  # registered within this batch: only what is newer
            events = [ev for ev in events if ev.revision > self.rv]
            chunk = b"".join(self.filter.line(self.kind, ev.type, ev.entry, ev.line)
                             for ev in events)
            framed = frame(chunk)
        self.rv = events[-1].revision
        wire = self.wire
        if wire is not None and not self.lines and not self.sending and wire.writable():
            wire.transport.write(framed)
            self.last_sent = now
            return
        if self.queued + len(events) > self.limit:
            self.cut_off = True
            self.lines.clear()
            self.end()
            if self.sending and self.task is not None:
                self.task.cancel()  # stuck writing to a client that does not read
            return
        self.lines.append(chunk)
        self.queued += len(events)
        self.wake.set()

    def end(self, line: bytes | None = None) -> None:
        if not self.done:
            if line is not None:
                self.lines.append(line)
            self.done = True
            self.wake.set()


class Broadcaster:
    """The loop's side of the watch caches (their ``Sink``): fans the events out
    to the watchers, sends bookmarks, and ends every watch when the server
    stops or the store has lost its leader."""

    def __init__(self, config: ApiConfig, leader: LeaderTracker, stopping: threading.Event,
                 queue_limit: int = QUEUE_LIMIT) -> None:
        self.config, self.leader, self.stopping = config, leader, stopping
        self.queue_limit = queue_limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._groups: dict[str, FilterGroups[Filter, Watcher]] = {}
        self._progress: dict[str, int] = {}
        # Events handed over since the last flush, per kind, and how far they reach.
        self._pending: dict[str, tuple[list[CachedEvent], int]] = {}
        self._flushed_at = -math.inf  # the loop's time of the last flush
        self._watchers: set[Watcher] = set()
        self._tick_task: asyncio.Task | None = None

    # ---- called by the caches' feeder threads, with a cache's lock held ----

    def events(self, cache: KindCache, batch: list[CachedEvent], revision: int) -> None:
        plural = cache.kind.plural
        if not self._groups.get(plural):
            # Nobody watches this kind here: no wake-up of the loop. Both this and
            # ``add`` run under the cache's lock, so a watcher added later starts
            # at the cache's revision, past this batch.
            return
        self._call(self._gather, plural, batch, revision)

    def reset(self, cache: KindCache) -> None:
        self._call(self._end_generation, cache.kind.plural, cache.generation)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return  # no watcher yet
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # the loop is closed: the server has stopped

    # ---- on the loop ----

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
            self._tick_task = loop.create_task(self._tick())

    def _gather(self, plural: str, batch: list[CachedEvent], revision: int) -> None:
        """Keep the batch for a flush in the loop's next pass, after every batch
        handed over in this one, or, while commits keep coming, once
        ``watch_coalesce_seconds`` have passed since the last flush: a stream
        of commits costs each watcher one write per interval, not one per
        commit (each write is a TLS record and a send for the master, and a
        read for its client). The first batch after a quiet spell goes at once."""
        if not self._pending:
            loop = asyncio.get_running_loop()
            due = self._flushed_at + self.config.watch_coalesce_seconds
            if loop.time() >= due:
                loop.call_soon(self._flush)
            else:
                loop.call_at(due, self._flush)
        pending = self._pending.get(plural)
        if pending is None:
            self._pending[plural] = (list(batch), revision)
        else:
            pending[0].extend(batch)
            self._pending[plural] = (pending[0], revision)

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        now = self._flushed_at = asyncio.get_running_loop().time()
        for plural, (batch, revision) in pending.items():
            groups = self._groups.get(plural)
            if groups and batch:
                for filt, events in groups.route(batch):
                    watchers = groups.watchers.get(filt)
                    if not watchers:
                        continue
                    kind = next(iter(watchers)).kind
                    chunk = b"".join(filt.line(kind, ev.type, ev.entry, ev.line)
                                     for ev in events)
                    framed = frame(chunk)
                    for w in watchers:
                        w.take(events, chunk, framed, now)
            self._progress[plural] = revision

    def _end_generation(self, plural: str, generation: int) -> None:
        groups = self._groups.get(plural)
        for w in list(groups.watchers.values()) if groups is not None else ():
            for x in list(w):
                if x.generation < generation:
                    x.end()

    def stop_soon(self) -> None:
        """End every watch (from any thread): the server is stopping."""
        self._call(self.end_all)

    def end_all(self, line: bytes | None = None) -> None:
        for w in list(self._watchers):
            w.end(line)

    def add(self, w: Watcher, cache: KindCache, revision: int) -> None:
        """Called under the cache's lock (``KindCache.open``)."""
        w.rv, w.generation = revision, cache.generation
        groups = self._groups.get(w.kind.plural)
        if groups is None:
            groups = self._groups[w.kind.plural] = FilterGroups(TRIGGER_FIELDS.get(w.kind.plural))
        groups.add(w.filter, w)
        self._watchers.add(w)

    def remove(self, w: Watcher) -> None:
        self._watchers.discard(w)
        groups = self._groups.get(w.kind.plural)
        if groups is not None:
            groups.remove(w.filter, w)

    def __len__(self) -> int:
        return len(self._watchers)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.watch_poll_seconds)
            if not self._watchers:
                continue
            if self.stopping.is_set():
                self.end_all()
                continue
            if await loop.run_in_executor(None, self.leader.lost):
                self.end_all(error_line(errors.Unavailable(
                    "this master's store has no leader (no quorum): it cannot see new "
                    "changes; watch again, through another master")))
                continue
            now = loop.time()
            for w in self._watchers:
                if w.bookmarks and not w.done and now - w.last_sent >= cfg.bookmark_interval_seconds:
                    w.last_sent = now
                    w.lines.append(_bookmark(w.filter.at or w.kind, max(w.rv, self._progress.get(
                        w.kind.plural, 0))))
                    w.wake.set()


# ---- one watch request -------------------------------------------------------


def replay(store: Store, kind: kinds.Kind, namespace: str | None, after: int
           ) -> tuple[list[Entry], list[str], int]:
    """The events after ``after`` from the store's own history, for a watch
    older than the cache's ring: ``(entries, types, upto)``; every event up to
    ``upto`` is there. Raises ``Gone`` when that history is compacted."""
    upto = store.revision()  # read first: every event up to it is then in the replay
    try:
        w = store.watch(kind.storage_prefix(namespace), start_revision=after + 1)
    except store_errors.StoreError as e:
        raise translate_store_error(e, kind, "") from e
    w.prev_kv = False
    entries, types = [], []
    try:
        while (ev := w.get(timeout=0)) is not None and ev.revision <= upto:
            event_type, obj = event_object(kind, ev)
            entries.append(Entry(ev.kv.key, obj))
            types.append(event_type)
    finally:
        w.close()
    return entries, types, upto


async def _until_disconnected(receive: Receive, w: Watcher) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    w.end()


async def serve(state: Any, hub: Broadcaster, target: Target, opts: ListOptions,
                send: Send, receive: Receive, wire: Wire | None = None,
                as_table: TableRequest | None = None) -> None:
    """Serve one watch. An ``ApiError`` raised before the response started is
    the caller's to answer as a Status. ``wire``: the connection under
    ``send`` (``Wire.of``), for live events written straight to it.
    ``as_table``: each event's object as a one-row Table."""
    loop = asyncio.get_running_loop()
    hub.bind(loop)
    kind, cfg = target.kind, state.config
    cache: KindCache = state.caches.get(kind)
    w = Watcher(kind, Filter(kind.storage_prefix(target.namespace), opts.label_selector,
                             opts.field_selector, as_table, target.at), opts.allow_bookmarks,
                hub.queue_limit, loop.time())

    def register(revision: int) -> None:
        hub.add(w, cache, revision)

    after = None if opts.resource_version in (None, "0") else int(opts.resource_version)
    if opts.resource_version is None:
        # Consistent: everything committed before the request is in the backlog.
        _, rv, _ = await loop.run_in_executor(
            None, lambda: state.objects.list(kind, target.namespace, limit=1))
        if not await loop.run_in_executor(None, cache.sync, int(rv), READY_TIMEOUT):
            raise errors.Unavailable(f"the watch cache of {kind.plural} is not ready yet")
    elif not cache.ready.is_set() and not await loop.run_in_executor(
            None, cache.ready.wait, READY_TIMEOUT):
        raise errors.Unavailable(f"the watch cache of {kind.plural} is not ready yet")

    timeout = opts.timeout_seconds or cfg.watch_max_seconds  # 0: the default, as in Kubernetes
    deadline = loop.call_at(loop.time() + min(timeout, cfg.watch_max_seconds), w.end)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    disconnect = loop.create_task(_until_disconnected(receive, w))
    try:
        first = await _backlog(state, cache, kind, target, after, w, register)
        if first:
            w.sending = True
            await send({"type": "http.response.body", "body": first, "more_body": True})
            w.sending = False
        if hub.stopping.is_set():
            w.end()
        while True:
            if w.lines:
                chunk = b"".join(w.lines)
                w.lines.clear()
                w.queued = 0
                w.sending = True
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                w.sending = False
                w.last_sent = loop.time()
                continue
            if w.done:
                break
            w.wire = wire  # caught up: the broadcaster may write to the connection itself
            w.wake.clear()
            await w.wake.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not w.cut_off:
            raise
        # Returning without finishing the response makes the server close the connection.
        log.info("a watch of %s fell %d events behind its client: cut off", kind.plural,
                 hub.queue_limit)
    finally:
        hub.remove(w)
        deadline.cancel()
        disconnect.cancel()


async def _backlog(state: Any, cache: KindCache, kind: kinds.Kind, target: Target,
                   after: int | None, w: Watcher, register: Callable[[int], None]) -> bytes:
    """Register the watcher and return the lines it gets before live events."""
    filt = w.filter
    backlog: Backlog | None = cache.open(target.namespace, after, register)
    if backlog is not None:
        if backlog.objects is not None:
            return b"".join(filt.line(kind, "ADDED", e) for e in backlog.objects
                            if filt.matches(e))
        return b"".join(filt.line(kind, ev.type, ev.entry, ev.line) for ev in backlog.events
                        if filt.matches(ev.entry))
    assert after is not None  # open() answers every watch that starts from the current state
    try:
        entries, types, upto = await asyncio.get_running_loop().run_in_executor(
            None, replay, state.store, kind, target.namespace, after)
    except errors.ApiError as e:
        w.end(error_line(e))
        return b""
    backlog = cache.open(target.namespace, upto, register)
    if backlog is None:
        w.end(error_line(errors.Gone(f"too old resource version: {after}")))
        return b""
    lines = [filt.line(kind, t, e) for t, e in zip(types, entries, strict=True) if filt.matches(e)]
    lines.extend(filt.line(kind, ev.type, ev.entry, ev.line) for ev in backlog.events
                 if filt.matches(ev.entry))
    return b"".join(lines)
