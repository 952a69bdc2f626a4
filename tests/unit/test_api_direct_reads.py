"""Reads through the master's ASGI app: the small lists the watch cache may
answer now are joined on the event loop (master.api.directlist), an object
read at ``resourceVersion=0`` is answered there from the cache
(master.api.directget), the rest go to Flask, and either way the client gets
the very bytes the Flask handler gives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from coxapi import kinds
from master.api import directlist
from master.watchcache import KindCache
from tests.unit.api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod
from tests.unit.test_api_direct_create import ALICE, _api, _asgi, _flask, worker_calls

PODS = "/api/v1/namespaces/default/pods"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _cached(api: Api, plural: str) -> KindCache:
    """The kind's watch cache once it holds every write so far."""
    cache = api.state.caches.get(kinds.lookup(plural))
    deadline = time.monotonic() + 10
    while not cache.sync(api.store.revision(), 0):
        assert time.monotonic() < deadline, f"the watch cache of {plural} never caught up"
        time.sleep(0.01)
    return cache


def _seen(r: Any) -> tuple:
    return (r.status_code, r.headers.get("Content-Type"), r.headers.get("Content-Length"),
            r.data)


def _same_as_flask(api: Api, cases: list[tuple[str, str, dict[str, str]]]) -> set[int]:
    """Each GET answered through the ASGI app as by Flask alone; the codes seen."""
    codes = set()
    for path, token, headers in cases:
        flask = api.client.open(path, method="GET",
                                headers={"Authorization": f"Bearer {token}", **headers})
        loop = api.asgi_request("GET", path, {"Authorization": f"Bearer {token}", **headers},
                                None)
        assert _seen(loop) == _seen(flask), path
        codes.add(loop.status_code)
    return codes


@pytest.fixture
def api() -> Iterator[Api]:
    a = _api()
    for i in range(6):
        body = pod(f"p{i}", node="n1" if i % 2 else "n2")
        body["metadata"]["labels"] = {"app": "web" if i < 4 else "db"}
        assert a.post(PODS, body).status_code == 201
    assert a.post("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                 "minReplicas": 1, "maxReplicas": 3}}).status_code == 201
    _cached(a, "pods")
    _cached(a, "horizontalpodautoscalers")
    yield a
    a.close()


def test_lists_answer_the_bytes_flask_gives(api):
    rev = _cached(api, "pods").revision
    cases: list[tuple[str, str, dict[str, str]]] = [
        (PODS + "?resourceVersion=0", ADMIN_TOKEN, {}),
        ("/api/v1/pods?resourceVersion=0", ADMIN_TOKEN, {}),
        (PODS + "?resourceVersion=0&labelSelector=app%3Dweb", ADMIN_TOKEN, {}),
        (PODS + "?resourceVersion=0&fieldSelector=spec.nodeName%3Dn1", ADMIN_TOKEN, {}),
        (PODS + "?resourceVersion=0&limit=2", ADMIN_TOKEN, {}),
        (PODS + f"?resourceVersion={rev}", ADMIN_TOKEN, {}),
        (PODS + "?resourceVersion=0&labelSelector=app%3D%3D%3D", ADMIN_TOKEN, {}),  # 400
        (PODS + "?resourceVersion=0&fieldSelector=bogus%3D1", ADMIN_TOKEN, {}),  # 400
        (PODS + "?resourceVersion=x", ADMIN_TOKEN, {}),  # 400
        (PODS + "?resourceVersion=0", ALICE, {}),  # 403
        ("/api/v1/pods?resourceVersion=0&fieldSelector=spec.nodeName%3Dn1", NODE_TOKEN, {}),
        (PODS + "?resourceVersion=0", ADMIN_TOKEN, {"Accept": TABLE}),
        ("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers?resourceVersion=0",
         ADMIN_TOKEN, {}),
        ("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers?resourceVersion=0",
         ADMIN_TOKEN, {}),
    ]
    assert _same_as_flask(api, cases) == {200, 400, 403}
    # the continue token of a page leads to the same next page
    first = api.asgi_request("GET", PODS + "?resourceVersion=0&limit=4",
                             {"Authorization": f"Bearer {ADMIN_TOKEN}"}, None)
    token = first.json["metadata"]["continue"]
    nxt = f"{PODS}?resourceVersion=0&limit=4&continue={token}"
    assert _seen(_asgi(api, "GET", nxt, None, ADMIN_TOKEN, "")) == \
        _seen(_flask(api, "GET", nxt, None, ADMIN_TOKEN, ""))
    assert [p["metadata"]["name"] for p in first.json["items"]] == ["p0", "p1", "p2", "p3"]


def test_small_lists_the_cache_may_answer_now_take_no_worker_thread(api, monkeypatch):
    in_threads = worker_calls(api)
    rev = _cached(api, "pods").revision

    def listed(path: str, token: str = ADMIN_TOKEN, **headers: str) -> tuple[int, list[str]]:
        in_threads.clear()
        r = api.asgi_request("GET", path, {"Authorization": f"Bearer {token}", **headers}, None)
        return r.status_code, list(in_threads)

    on_loop = (200, [])
    in_flask = (200, ["run"])
    assert listed(PODS + "?resourceVersion=0") == on_loop
    assert listed(PODS + f"?resourceVersion={rev}") == on_loop  # the cache has reached it
    assert listed(PODS + "?resourceVersion=0&labelSelector=app%3Dweb&limit=1") == on_loop
    assert listed(PODS) == in_flask  # consistent: the revision is read through Raft
    assert listed(PODS + f"?resourceVersion={rev + 1000}")[1] == ["run"]  # not reached yet
    assert listed(PODS + "?resourceVersion=0", Accept=TABLE) == in_flask
    assert listed("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
                  "?resourceVersion=0") == in_flask  # converted from the stored version
    assert listed(PODS + "?resourceVersion=0", ALICE) == (403, ["run"])  # refused by Flask
    assert listed(PODS + "?resourceVersion=x") == (400, ["run"])
    # a range larger than the loop may join goes to a worker thread, but a
    # small page of it does not
    monkeypatch.setattr(directlist, "LOOP_LIST_OBJECTS", 3)
    assert listed(PODS + "?resourceVersion=0") == in_flask
    assert listed(PODS + "?resourceVersion=0&labelSelector=app%3Ddb") == in_flask
    assert listed(PODS + "?resourceVersion=0&limit=3") == on_loop
    assert listed(PODS + "?resourceVersion=0&limit=4") == in_flask
    # a node's pods are looked up by node (3 here), not among every pod
    assert listed("/api/v1/pods?resourceVersion=0&fieldSelector=spec.nodeName%3Dn1") == on_loop
    assert listed("/api/v1/pods?resourceVersion=0&fieldSelector=spec.nodeName%21%3Dn1") \
        == in_flask


def test_objects_at_version_0_answer_the_bytes_flask_gives(api):
    pod1 = PODS + "/p1"
    cases: list[tuple[str, str, dict[str, str]]] = [
        (pod1 + "?resourceVersion=0", ADMIN_TOKEN, {}),
        (pod1, ADMIN_TOKEN, {}),
        (PODS + "/ghost?resourceVersion=0", ADMIN_TOKEN, {}),  # 404
        (pod1 + "?resourceVersion=x", ADMIN_TOKEN, {}),  # 400
        (pod1 + "?resourceVersion=0", ALICE, {}),  # 403
        (pod1 + "?resourceVersion=0", NODE_TOKEN, {}),  # its own node's pod
        (PODS + "/p0?resourceVersion=0", NODE_TOKEN, {}),  # another node's
        (pod1 + "?resourceVersion=0", ADMIN_TOKEN, {"Accept": TABLE}),
        (pod1 + "/status?resourceVersion=0", ADMIN_TOKEN, {}),
        ("/api/v1/namespaces/default?resourceVersion=0", ADMIN_TOKEN, {}),
        ("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/h?resourceVersion=0",
         ADMIN_TOKEN, {}),
        ("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h?resourceVersion=0",
         ADMIN_TOKEN, {}),
    ]
    reached = str(_cached(api, "pods").revision)
    cases += [(pod1 + f"?resourceVersion={reached}", ADMIN_TOKEN, {}),  # not older than
              (PODS + f"/ghost?resourceVersion={reached}", ADMIN_TOKEN, {})]
    _cached(api, "namespaces")
    assert _same_as_flask(api, cases) == {200, 400, 403, 404}


def test_objects_at_version_0_the_cache_holds_take_no_worker_thread(api):
    in_threads = worker_calls(api)
    _cached(api, "namespaces")

    def read(path: str, token: str = ADMIN_TOKEN, **headers: str) -> tuple[int, list[str]]:
        in_threads.clear()
        r = api.asgi_request("GET", path, {"Authorization": f"Bearer {token}", **headers}, None)
        return r.status_code, list(in_threads)

    assert read(PODS + "/p1?resourceVersion=0") == (200, [])
    assert read(PODS + "/p1?resourceVersion=0", NODE_TOKEN) == (200, [])
    assert read("/api/v1/namespaces/default?resourceVersion=0") == (200, [])
    assert read(PODS + "/p1") == (200, ["run"])  # consistent: through Raft
    assert read(PODS + "/ghost?resourceVersion=0") == (404, ["run"])
    assert read(PODS + "/p1?resourceVersion=0", ALICE) == (403, ["run"])
    assert read(PODS + "/p1?resourceVersion=0", Accept=TABLE) == (200, ["run"])
    assert read(PODS + "/p1/status?resourceVersion=0") == (200, ["run"])
    # not older than a version the cache has reached: the cache's; one it has not: Flask's
    reached = _cached(api, "pods").revision
    assert read(PODS + f"/p1?resourceVersion={reached}") == (200, [])
    assert read(PODS + f"/p1?resourceVersion={reached + 1000}") == (200, ["run"])
