"""Watch streams: replay from a resourceVersion, initial ADDED, selectors,
410 on history compacted past the watch cache's ring too (served from the ring
while it still reaches back), timeoutSeconds, bookmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coxapi import kinds
from master.watchcache import KindCache, WatchCaches

from .api_harness import Api


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(**config: Any) -> Api:
        made.append(Api(**config))
        return made[-1]
    yield make
    for a in made:
        a.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, **({"labels": labels} if labels else {})}, "data": {}}


def test_watch_replays_every_change_after_a_resource_version(api):
    start = api.post(CM, cm("a")).json["metadata"]["resourceVersion"]
    api.put(f"{CM}/a", {**api.get(f"{CM}/a").json, "data": {"k": "v"}})
    api.post(CM, cm("b"))
    api.delete(f"{CM}/a")
    events = api.watch(CM, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(start)
    assert events[0]["object"]["data"] == {"k": "v"}
    assert all(e["object"]["kind"] == "ConfigMap" for e in events)


def test_watch_without_a_version_starts_with_added_for_existing_objects(api):
    api.post(CM, cm("a"))
    api.post(CM, cm("b"))
    for rv in (None, "0"):
        q = {"timeoutSeconds": "1", **({"resourceVersion": rv} if rv else {})}
        events = api.watch(CM, q)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
            ("ADDED", "a"), ("ADDED", "b")]


def test_watch_sees_live_changes(api):
    def writer() -> None:
        for i in range(3):
            api.objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": f"live{i}", "namespace": "default"}})

    rv = api.get(CM).json["metadata"]["resourceVersion"]
    t = threading.Thread(target=writer)
    t.start()
    events = api.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "5"}, max_events=3)
    t.join()
    assert [e["object"]["metadata"]["name"] for e in events] == ["live0", "live1", "live2"]


def test_watch_filters_by_label_and_field_selector(api):
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    api.post(CM, cm("a", app="web"))
    api.post(CM, cm("b", app="db"))
    events = api.watch(CM, {"resourceVersion": rv, "labelSelector": "app=web",
                            "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == ["a"]
    events = api.watch(CM, {"resourceVersion": rv, "fieldSelector": "metadata.name=b",
                            "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == ["b"]


def test_watch_is_scoped_to_its_namespace_and_kind(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    api.post("/api/v1/namespaces/other/configmaps", cm("elsewhere"))
    api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}})
    api.post(CM, cm("here"))
    events = api.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == ["here"]
    events = api.watch("/api/v1/configmaps", {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == ["elsewhere", "here"]


def compacted_behind_the_cache(api: Api) -> tuple[str, KindCache]:
    """Create ``a`` and three more ConfigMaps under a running ConfigMap cache,
    let the cache catch up, then compact the store's history past them all:
    ``a``'s version, and the cache (whose capacity decides whether its ring
    still holds the events after ``a``)."""
    cache = api.state.caches.get(kinds.lookup("ConfigMap"))
    assert cache.ready.wait(5)
    old = api.post(CM, cm("a")).json["metadata"]["resourceVersion"]
    for i in range(3):
        api.post(CM, cm(f"x{i}"))
    assert cache.sync(api.store.revision(), 5)
    api.store.compact(api.store.revision())
    return old, cache


def test_watch_from_a_compacted_version_gets_a_410_error_event(make_api):
    api = make_api()
    api.state.caches = WatchCaches(api.store, api.state.watchers, capacity=2)
    old, cache = compacted_behind_the_cache(api)
    assert cache.floor > int(old)  # older than the ring too: nothing can serve it
    events = api.watch(CM, {"resourceVersion": old, "timeoutSeconds": "1"})
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"


def test_watch_from_a_compacted_version_still_in_the_cache_ring_is_served_from_it(api):
    """As Kubernetes' cacher: the ring has every event after the version, so
    the store's compaction does not matter."""
    old, cache = compacted_behind_the_cache(api)
    assert cache.floor <= int(old)
    events = api.watch(CM, {"resourceVersion": old, "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "x0"), ("ADDED", "x1"), ("ADDED", "x2")]


def test_watch_ends_after_timeout_seconds(api):
    t0 = time.monotonic()
    assert api.watch(CM, {"resourceVersion": "1", "timeoutSeconds": "1"}) == []
    assert 0.9 <= time.monotonic() - t0 < 4


def test_idle_watch_sends_bookmarks_when_asked(make_api):
    api = make_api(bookmark_interval_seconds=0.2)
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    events = api.watch(CM, {"resourceVersion": rv, "allowWatchBookmarks": "true",
                            "timeoutSeconds": "5"}, max_events=1)
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["metadata"]["resourceVersion"] == rv


def test_watch_stops_when_the_server_stops(api):
    done = threading.Event()
    result: list = []

    def run() -> None:
        result.extend(api.watch(CM, {"resourceVersion": "1", "timeoutSeconds": "60"}))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    api.state.stopping.set()
    assert done.wait(5), "watch did not end on shutdown"


def test_watches_end_with_503_when_the_store_stays_leaderless(make_api):
    api = make_api(watch_leaderless_seconds=0.3)
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    api.store.status = lambda: {"role": "candidate", "leader": None}
    t0 = time.monotonic()
    events = api.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "10"})
    assert time.monotonic() - t0 < 5
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 503


def test_a_short_election_does_not_end_watches():
    from master.api.storehealth import LeaderTracker
    now = [0.0]
    status = {"role": "follower", "leader": "a"}
    tracker = LeaderTracker(type("S", (), {"status": lambda self: status})(), grace=3.0,
                            interval=0.5, clock=lambda: now[0])
    assert not tracker.lost()
    status = {"role": "candidate", "leader": None}
    for _ in range(4):  # 2 s without a leader
        now[0] += 0.5
        assert not tracker.lost()
    status = {"role": "follower", "leader": "b"}
    now[0] += 0.5
    assert not tracker.lost()
    status = {"role": "leader", "leader": "c", "has_quorum": False}
    for _ in range(6):
        now[0] += 0.5
        tracker.lost()
    now[0] += 0.5
    assert tracker.lost()
