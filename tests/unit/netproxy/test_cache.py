"""The list+watch cache: re-list on errors, replace a stalled watch."""

from __future__ import annotations

import threading

from netproxy.cache import WatchCache
from netproxy.testing import FakeApi
from tests.support import wait_until


def obj(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}}


def names(cache: WatchCache) -> set[str]:
    return {o["metadata"]["name"] for o in cache.snapshot()}


def make(api: FakeApi, **kw) -> tuple[WatchCache, threading.Event, list[int]]:
    stop = threading.Event()
    changes: list[int] = []
    cache = WatchCache(api, "services", lambda: changes.append(1), stop, **kw)
    cache.start()
    return cache, stop, changes


def test_list_then_watch_tracks_adds_updates_and_deletes():
    api = FakeApi()
    api.put("services", obj("a"))
    cache, stop, changes = make(api)
    try:
        wait_until(cache.synced.is_set, 5, what="synced")
        assert names(cache) == {"a"}
        api.put("services", obj("b"))
        api.delete("services", "default", "a")
        wait_until(lambda: names(cache) == {"b"}, 5, what="b only")
        assert len(changes) >= 3
    finally:
        stop.set()
        api.close()


def test_a_stalled_watch_is_replaced_and_changes_still_arrive():
    api = FakeApi()
    api.put("services", obj("a"))
    cache, stop, _ = make(api, watch_timeout=0.2, stall_grace=0.2)
    try:
        wait_until(cache.synced.is_set, 5, what="synced")
        api.hang = True  # the next watch hangs like a SIGSTOPped master
        api.break_watches()
        api.put("services", obj("b"))
        wait_until(lambda: cache.restarts >= 1, 5, what="stalled watch replaced")
        api.hang = False
        wait_until(lambda: names(cache) == {"a", "b"}, 5, what="change seen after the stall")
    finally:
        stop.set()
        api.close()
