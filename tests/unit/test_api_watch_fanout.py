"""How the broadcaster hands a batch to one watcher (master.api.watch.Watcher.take):
straight to a caught-up connection as one HTTP chunk, else queued in order;
events already in its backlog are skipped; too many queued ones cut it off.
And how often it flushes (``Broadcaster._gather``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from coxapi import kinds
from master.api.watch import Filter, Watcher, frame
from master.watchcache import CachedEvent, Entry
from tests.support import wait_until

from .api_harness import Api
from .test_api_watch_cache import CM, open_stream

KIND = kinds.lookup("ConfigMap")


def ev(rev: int) -> CachedEvent:
    raw = b'{"metadata":{"name":"c%d"}}' % rev
    return CachedEvent(rev, "ADDED", Entry(f"/registry/configmaps/default/c{rev}", {}, raw))


class FakeWire:
    def __init__(self) -> None:
        self.open = True
        self.written: list[bytes] = []
        self.transport = self

    def writable(self) -> bool:
        return self.open

    def write(self, data: bytes) -> None:
        self.written.append(data)


def on_loop(fn: Callable[[], Any]) -> Any:
    async def run() -> Any:
        return fn()
    return asyncio.run(run())


def watcher(rv: int, limit: int = 100, wire: FakeWire | None = None) -> Watcher:
    w = Watcher(KIND, Filter(KIND.storage_prefix("default")), False, limit, 0.0)
    w.rv, w.wire = rv, wire  # type: ignore[assignment]
    return w


def take(w: Watcher, events: list[CachedEvent]) -> None:
    chunk = b"".join(e.line for e in events)
    w.take(events, chunk, frame(chunk), 1.0)


def test_a_caught_up_watcher_gets_the_batch_written_as_one_chunk():
    wire = FakeWire()
    w = on_loop(lambda: watcher(10, wire=wire))
    batch = [ev(11), ev(12)]
    take(w, batch)
    assert wire.written == [frame(batch[0].line + batch[1].line)] and w.lines == []
    assert w.rv == 12


def test_events_in_the_backlog_are_skipped_even_within_a_batch():
    w = on_loop(lambda: watcher(12))
    take(w, [ev(11), ev(12)])
    assert w.lines == []
    take(w, [ev(12), ev(13), ev(14)])
    assert w.lines == [ev(13).line + ev(14).line] and w.rv == 14


def test_a_paused_connection_queues_and_keeps_the_order():
    wire = FakeWire()
    w = on_loop(lambda: watcher(10, wire=wire))
    wire.open = False  # the client is not reading: the transport paused us
    take(w, [ev(11)])
    wire.open = True
    take(w, [ev(12)])  # still behind the queued line: queued too, for the task to send
    assert wire.written == [] and w.lines == [ev(11).line, ev(12).line]


def test_too_many_queued_events_cut_the_watcher_off():
    w = on_loop(lambda: watcher(10, limit=3))
    take(w, [ev(11), ev(12)])
    assert not w.done
    take(w, [ev(13), ev(14)])
    assert w.cut_off and w.done and w.lines == []


def test_a_watch_that_keeps_up_is_written_to_its_connection_directly():
    api = Api()
    try:
        rv = api.get(CM).json["metadata"]["resourceVersion"]
        r = open_stream(api, CM, resourceVersion=rv)
        hub = api.state.watchers
        wait_until(lambda: any(w.wire is not None for w in hub._watchers), 5,
                   what="the watcher caught up, on uvicorn's httptools protocol")
        for i in range(3):
            api.post(CM, {"metadata": {"name": f"c{i}"}})
        names = []
        for line in r.iter_lines():
            if line:
                names.append(line.split(b'"name":"')[1].split(b'"')[0].decode())
            if len(names) == 3:
                break
        r.close()
        assert names == ["c0", "c1", "c2"]
    finally:
        api.close()


def test_the_loop_is_woken_only_for_kinds_someone_watches():
    class CountingLoop:
        calls: list[tuple] = []

        def call_soon_threadsafe(self, fn: Callable, *args: Any) -> None:
            if fn.__name__ == "_gather":  # (not the cache's own relist: _end_generation)
                self.calls.append((fn.__name__, args[0]))

        def is_closed(self) -> bool:
            return False

    api = Api()
    try:
        hub = api.state.watchers
        real_loop, hub._loop = hub._loop, CountingLoop()  # type: ignore[assignment]
        cache = api.state.caches.get(KIND)
        hub.events(cache, [ev(11)], 11)
        assert CountingLoop.calls == []  # no ConfigMap watcher on this master
        w = on_loop(lambda: watcher(10))
        with cache._lock:
            hub.add(w, cache, 10)
        hub.events(cache, [ev(12)], 12)
        assert CountingLoop.calls == [("_gather", "configmaps")]
        hub.remove(w)
        hub.events(cache, [ev(13)], 13)
        assert CountingLoop.calls == [("_gather", "configmaps")]
        hub._loop = real_loop
    finally:
        api.close()


def test_a_stream_of_commits_is_written_once_per_interval_and_a_quiet_one_at_once():
    from types import SimpleNamespace

    from master.api.config import ApiConfig
    from master.api.watch import Broadcaster

    async def run() -> list[list[bytes]]:
        hub = Broadcaster(ApiConfig(watch_coalesce_seconds=0.2), None, None)  # type: ignore[arg-type]
        wire = FakeWire()
        w = watcher(10, wire=wire)
        hub.add(w, SimpleNamespace(generation=0), 10)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        seen = []

        async def passes(n: int = 3) -> None:
            for _ in range(n):
                await asyncio.sleep(0)
            seen.append(list(wire.written))

        hub._gather("configmaps", [ev(11)], 11)
        await passes()  # the first after a quiet spell: in the next pass
        start = loop.time()
        hub._gather("configmaps", [ev(12)], 12)
        await passes()
        hub._gather("configmaps", [ev(13)], 13)
        await passes()  # within the interval: both still held
        while len(wire.written) < 2 and loop.time() - start < 5:
            await asyncio.sleep(0.01)
        seen.append(list(wire.written))
        assert loop.time() - start >= 0.15  # held for the interval
        await asyncio.sleep(0.3)
        hub._gather("configmaps", [ev(14)], 14)
        await passes()  # quiet for longer than the interval: at once again
        return seen

    seen = asyncio.run(run())
    first, held, after_quiet = (frame(ev(11).line), frame(ev(12).line + ev(13).line),
                                frame(ev(14).line))
    assert seen[0] == seen[1] == seen[2] == [first]
    assert seen[3] == [first, held]  # the two commits of the interval in one write
    assert seen[4] == [first, held, after_quiet]
