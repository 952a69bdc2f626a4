"""The watch cache and the event-loop server (master.watchcache, master.asgi,
master.api.watch) through real HTTP on loopback: many watchers, each event once
and in order; a ring too short falls back to the store's history; slow watchers
are cut off alone; health answers with every worker thread busy; lists with
resourceVersion=0 come from the cache."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from coxapi import kinds, labels
from master.asgi import ApiApp
from master.server import ApiServer
from master.watchcache import WatchCaches
from raftstore import MemoryStore
from tests.support import local_pki, wait_until

from .api_harness import ADMIN_TOKEN, Api

CM = "/api/v1/namespaces/default/configmaps"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(store: Any = None, **config: Any) -> Api:
        made.append(Api(store, **config))
        return made[-1]
    yield make
    for a in made:
        a.close()


def cm(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, **({"labels": labels} if labels else {})},
            "data": {"k": name}}


def open_stream(api: Api, path: str, **query: str) -> requests.Response:
    r = requests.get(api.url + path, params={"watch": "true", **query}, headers=AUTH,
                     stream=True, timeout=30, verify=api.ca_file)
    assert r.status_code == 200, r.text
    return r


def read_events(r: requests.Response, n: int) -> list[dict]:
    out = []
    for line in r.iter_lines():
        if line:
            out.append(json.loads(line))
        if len(out) >= n:
            break
    r.close()
    return out


def test_every_event_reaches_200_watchers_once_and_in_order(make_api):
    api = make_api()
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    n = 60
    everyone = [open_stream(api, CM, resourceVersion=rv) for _ in range(190)]
    selective = [open_stream(api, CM, resourceVersion=rv, labelSelector="even=yes")
                 for _ in range(10)]
    got: dict[int, list[dict]] = {}

    def reader(i: int, r: requests.Response, count: int) -> None:
        got[i] = read_events(r, count)

    threads = [threading.Thread(target=reader, args=(i, r, n)) for i, r in enumerate(everyone)]
    threads += [threading.Thread(target=reader, args=(1000 + i, r, n // 2))
                for i, r in enumerate(selective)]
    for t in threads:
        t.start()
    wait_until(lambda: len(api.state.watchers) == 200, 10, what="200 watchers registered")
    for i in range(n):
        api.post(CM, cm(f"c{i}", **({"even": "yes"} if i % 2 == 0 else {})))
    for t in threads:
        t.join(30)
    expected = [f"c{i}" for i in range(n)]
    for i in range(190):
        assert [e["object"]["metadata"]["name"] for e in got[i]] == expected
        assert {e["type"] for e in got[i]} == {"ADDED"}
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got[i]]
        assert rvs == sorted(set(rvs)) and rvs[0] > int(rv)
    for i in range(10):
        assert [e["object"]["metadata"]["name"] for e in got[1000 + i]] == expected[::2]


def test_a_version_older_than_the_ring_is_replayed_from_the_store(make_api):
    api = make_api()
    api.state.caches = WatchCaches(api.store, api.state.watchers, capacity=3)
    start = api.get(CM).json["metadata"]["resourceVersion"]
    api.get(CM, query={"resourceVersion": "0"})  # starts the cache
    wait_until(api.state.caches.get(_cm_kind()).ready.is_set, 5)
    for i in range(8):
        api.post(CM, cm(f"c{i}"))
    r = open_stream(api, CM, resourceVersion=start)
    threading.Timer(0.3, lambda: api.post(CM, cm("live"))).start()
    events = read_events(r, 9)
    assert [e["object"]["metadata"]["name"] for e in events] == [f"c{i}" for i in range(8)] + [
        "live"]
    # the same version once the store has compacted it away: 410, the client relists
    api.store.compact(api.store.revision())
    events = api.watch(CM, {"resourceVersion": start, "timeoutSeconds": "2"})
    assert [(e["type"], e["object"]["code"]) for e in events] == [("ERROR", 410)]


def _cm_kind() -> kinds.Kind:
    return kinds.lookup("ConfigMap")


def test_a_watcher_that_does_not_read_is_cut_off_without_holding_up_others(make_api):
    api = make_api()
    api.state.watchers.queue_limit = 20
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    host, port = api.url.removeprefix("https://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    stuck = ssl.create_default_context(cafile=api.ca_file).wrap_socket(raw, server_hostname=host)
    stuck.sendall(f"GET {CM}?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
    reader = open_stream(api, CM, resourceVersion=rv)
    wait_until(lambda: len(api.state.watchers) == 2, 5, what="both watchers registered")
    big = "x" * 200_000  # a few events fill the socket buffers of the stuck client
    n = 60
    got: list[dict] = []

    def read() -> None:
        for line in reader.iter_lines():
            if line:
                got.append(json.loads(line))
            if len(got) >= n:
                break
        reader.close()

    t = threading.Thread(target=read)
    t.start()
    for i in range(n):  # at the pace of the reading client
        api.post(CM, {"metadata": {"name": f"b{i}"}, "data": {"big": big}})
        wait_until(lambda i=i: len(got) > i, 10, what=f"event {i} at the reading watcher")
    t.join(30)
    assert [e["object"]["metadata"]["name"] for e in got] == [f"b{i}" for i in range(n)]
    wait_until(lambda: len(api.state.watchers) == 0, 10, what="the stuck watcher cut off")
    stuck.close()


def test_health_answers_while_every_worker_thread_is_busy(make_api):
    class SlowStore(MemoryStore):
        gate = threading.Event()
        waiting: list[str] = []

        def _read_barrier(self) -> None:
            if threading.current_thread().name.startswith("WSGI"):
                self.waiting.append(threading.current_thread().name)
                self.gate.wait(20)

    store = SlowStore()
    api = make_api(store)
    api.server = ApiServer(ApiApp(api.app, threads=2), "127.0.0.1", 0, tls=local_pki().tls)
    api.server.start()
    url = api.url
    busy = [threading.Thread(target=lambda: requests.get(url + CM, headers=AUTH, timeout=30,
                                                         verify=api.ca_file))
            for _ in range(4)]
    for t in busy:
        t.start()
    try:
        # the slow lists occupy both worker threads (the other two queue behind them)
        wait_until(lambda: len(SlowStore.waiting) == 2, 10, what="both workers blocked")
        for path in ("/healthz", "/livez", "/readyz"):
            # a health check that needed a worker would wait for the gate (20 s): the
            # 2 s client timeout tells the two apart without timing a fast machine
            r = requests.get(url + path, timeout=2, verify=api.ca_file)
            assert r.status_code == 200 and r.text == "ok\n"
        # a watch needs no worker thread either
        rv = str(store.revision())
        events = api.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "1"})
        assert events == []
    finally:
        SlowStore.gate.set()
        for t in busy:
            t.join(10)


def test_stopping_the_server_ends_open_watches_promptly(make_api):
    api = make_api()
    rv = api.get(CM).json["metadata"]["resourceVersion"]
    streams = [open_stream(api, CM, resourceVersion=rv) for _ in range(5)]
    ended = threading.Event()
    count = [0]

    def drain(r: requests.Response) -> None:
        for _ in r.iter_lines():
            pass
        count[0] += 1
        if count[0] == len(streams):
            ended.set()

    for r in streams:
        threading.Thread(target=drain, args=(r,), daemon=True).start()
    wait_until(lambda: len(api.state.watchers) == 5, 5, what="watchers registered")
    t0 = time.monotonic()
    api.server.stop()
    assert ended.wait(5), "open watches outlived the server"
    assert time.monotonic() - t0 < 3
    api.server = None


def test_lists_at_version_0_come_from_the_cache_like_the_store(make_api):
    api = make_api()
    for i in range(30):
        api.post(CM, cm(f"c{i:02d}", **({"even": "yes"} if i % 2 == 0 else {})))
    kind = _cm_kind()
    api.get(CM, query={"resourceVersion": "0"})
    cache = api.state.caches.get(kind)
    wait_until(cache.ready.is_set, 5)
    wait_until(lambda: cache.sync(api.store.revision(), 1), 5)
    for query in ({}, {"labelSelector": "even=yes"}, {"fieldSelector": "metadata.name=c03"}):
        fresh = api.get(CM, query=query).get_data()
        cached = api.get(CM, query={**query, "resourceVersion": "0"}).get_data()
        assert cached == fresh
    # pages of the cache, continued from the store, see every object once
    names, token = [], None
    while True:
        q = {"limit": "7", **({"continue": token} if token else {"resourceVersion": "0"})}
        page = api.get(CM, query=q).json
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == [f"c{i:02d}" for i in range(30)]
    # a watch error reaches an old-style WSGI caller as a plain 400, never a hang
    assert api.get(CM, query={"watch": "true"}).status_code == 400


def test_a_not_older_than_list_waits_a_moment_for_this_replica_to_reach_its_version(make_api):
    # a version written through another master may be applied here a commit later:
    # the cache waits for it (briefly) instead of sending the list through Raft
    api = make_api()
    api.get(CM, query={"resourceVersion": "0"})  # starts the cache
    cache = api.state.caches.get(_cm_kind())
    wait_until(cache.ready.is_set, 5)
    ahead = api.store.revision() + 1
    threading.Timer(0.05, lambda: api.post(CM, cm("later"))).start()
    assert cache.wait_for(ahead, 5)
    started = time.monotonic()
    assert not cache.wait_for(ahead + 100, 0.1)
    assert 0.1 <= time.monotonic() - started < 2


def test_the_event_cache_starts_only_when_a_list_or_watch_asks_for_it(make_api):
    """A master starts every kind's cache but the Events' (as kube-apiserver keeps
    none): Events are written several times per pod and rarely watched."""
    api = make_api()
    api.state.caches.start_all()
    started = api.state.caches.started()
    assert "configmaps" in started and "pods" in started
    assert "events" not in started
    ev_path = "/api/v1/namespaces/default/events"
    event = {"metadata": {"name": "e1"}, "reason": "Tested", "message": "one",
             "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}}
    assert api.post(ev_path, event).status_code == 201
    assert "events" not in api.state.caches.started()  # writes start nothing
    listed = api.get(ev_path, query={"resourceVersion": "0"}).json
    assert [e["metadata"]["name"] for e in listed["items"]] == ["e1"]
    assert "events" in api.state.caches.started()
    r = open_stream(api, ev_path, resourceVersion=listed["metadata"]["resourceVersion"])
    assert api.post(ev_path, {**event, "metadata": {"name": "e2"}}).status_code == 201
    [got] = read_events(r, 1)
    assert (got["type"], got["object"]["metadata"]["name"]) == ("ADDED", "e2")


class _NoSink:
    def events(self, cache: Any, batch: list, revision: int) -> None:
        pass

    def reset(self, cache: Any) -> None:
        pass


def test_pods_are_also_kept_by_node_and_an_indexed_list_finds_what_a_scan_finds():
    """The pods' cache files each pod under its ``spec.nodeName`` ("" while
    unbound) through adds, bindings, moves and deletes, and a cache built
    from a list files them alike: a list by node looks at that node's pods
    alone and answers what a scan of every pod with the same filter does."""
    store = MemoryStore()
    pods = kinds.lookup("pods")

    def put(ns: str, name: str, node: str | None, **labels: str) -> None:
        spec: dict = {"containers": [{"name": "app", "image": "busybox:1.36"}]}
        if node is not None:
            spec["nodeName"] = node
        store.put(pods.storage_prefix(ns) + name,
                  {"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": spec})

    live = WatchCaches(store, _NoSink())
    cache = live.get(pods)
    wait_until(cache.ready.is_set, 5)
    for i in range(12):
        put("default" if i % 3 else "other", f"p{i:02d}", [None, "n1", "n2"][i % 3],
            tier="web" if i % 2 else "db")
    put("default", "p01", "n2", tier="web")  # moved
    put("other", "p00", "n1", tier="db")  # bound
    store.delete(pods.storage_prefix("default") + "p04")
    store.delete(pods.storage_prefix("default") + "p05")
    fresh = WatchCaches(store, _NoSink())
    try:
        for c in (cache, fresh.get(pods)):
            wait_until(lambda c=c: c.sync(store.revision(), 1), 5)
            for node in ("n1", "n2", "", "n9"):
                def on(o: dict, node: str = node) -> bool:
                    return (o.get("spec") or {}).get("nodeName", "") == node
                for ns in (None, "default", "other"):
                    for selector in ((), labels.parse_selector("tier=web")):
                        # a continue key is one of the list's own range
                        for limit, after in ((0, None), (2, None),
                                             (0, pods.storage_prefix(ns or "default") + "p02")):
                            scanned = c.list(ns, selector, on, limit, after)
                            indexed = c.list(ns, selector, on, limit, after, indexed=node)
                            assert [e.key for e in indexed[0]] == [e.key for e in scanned[0]]
                            assert indexed[1] == scanned[1]
                            # a scan may offer a continue that leads to nothing more
                            assert indexed[2] in (None, scanned[2])
                            if limit and len(scanned[0]) == limit and indexed[2] is None:
                                assert c.list(ns, selector, on, 0, scanned[0][-1].key)[0] == []
            by_node = {n: [e.obj["metadata"]["name"] for e in c.list(None, (), None,
                                                                      indexed=n)[0]]
                       for n in ("n1", "n2", "")}
            assert by_node == {"n1": ["p07", "p10", "p00"], "n2": ["p01", "p02", "p08", "p11"],
                               "": ["p03", "p06", "p09"]}
            assert c.count(None, None, "n2") == 4
    finally:
        live.stop()
        fresh.stop()
