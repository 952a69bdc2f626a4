"""Creates through the master's ASGI app take the direct path
(master.api.directcreate), and answer exactly as the Flask handler does: the
same requests, made on two identical APIs, one through each, get the same
code, Status, object and warnings."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from master.admission.rbacdefaults import ensure_default_rbac
from master.api import resources
from master.auth import TokenEntry, User
from tests.support import wait_until
from tests.unit.api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod

ALICE = "alice-token"
CMS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


def _api() -> Api:
    a = Api(tokens=(TokenEntry(ALICE, User("alice", "u-alice")),))
    ensure_default_rbac(a.objects)
    return a


def _flask(api: Api, method: str, path: str, body: bytes | None, token: str,
           content_type: str) -> Any:
    """The request through Flask alone (its test client), as before the direct path."""
    headers = {"Authorization": f"Bearer {token}"}
    return api.client.open(path, method=method, data=body, headers=headers,
                           content_type=content_type if body is not None else None)


def _asgi(api: Api, method: str, path: str, body: bytes | None, token: str,
          content_type: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = content_type
    return api.asgi_request(method, path, headers, body)


def worker_calls(api: Api) -> list[str]:
    """The names of what the ASGI app runs in its worker threads, as it runs them."""
    calls: list[str] = []
    real_run = api.asgi.workers.run

    async def run(fn: Any, *args: Any) -> Any:
        calls.append(getattr(fn, "func", fn).__name__)
        return await real_run(fn, *args)
    api.asgi.workers.run = run  # type: ignore[method-assign]
    return calls


def flask_calls(monkeypatch: pytest.MonkeyPatch, handler: str) -> list[str]:
    """The kinds a Flask handler of master.api.resources is called for, in order."""
    calls: list[str] = []
    original = getattr(resources, handler)

    def counted(t: Any) -> Any:
        calls.append(t.kind.plural)
        return original(t)
    monkeypatch.setattr(resources, handler, counted)
    return calls


def _comparable(r: Any) -> tuple:
    """What a client sees, less what differs between two stores by chance."""
    doc = json.loads(r.data) if r.data else None
    if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
        meta = doc["metadata"]
        for f in ("uid", "creationTimestamp"):
            meta.pop(f, None)
        if meta.get("generateName"):
            assert meta.pop("name").startswith(meta["generateName"])
    return (r.status_code, r.headers.get("Content-Type"), r.headers.getlist("Warning"), doc)


def answered_alike(apis: tuple[Api, Api], cases: list[tuple],
                   seen: Callable[[Api, Any, tuple], tuple]) -> list[tuple]:
    """Each case through Flask on the first API and through the ASGI app on the
    second, in turn: what ``seen`` makes of each answer must be the same; the
    second API's, in order."""
    flask_api, asgi_api = apis
    out = []
    for case in cases:
        expected = seen(flask_api, _flask, case)
        got = seen(asgi_api, _asgi, case)
        assert got == expected, case
        out.append(got)
    return out


def _cm(name: str, **more: Any) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}, **more}


def _privileged(name: str) -> dict:
    return pod(name, ns=None, containers=[{"name": "app", "image": "busybox:1.36",
                                           "securityContext": {"privileged": True}}])


def _ns(name: str, **labels: str) -> tuple:
    return ("POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})


# (method, path, body (a dict, or raw bytes), token, content type); each case
# runs after the ones before it, on both APIs
SETUP = [
    _ns("audit", **{"pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "baseline"}),
    _ns("locked", **{"pod-security.kubernetes.io/enforce": "restricted"}),
    _ns("quota"),
    ("POST", "/api/v1/namespaces/quota/resourcequotas",
     {"metadata": {"name": "q"}, "spec": {"hard": {"configmaps": "1"}}}),
    _ns("going"),
    ("DELETE", "/api/v1/namespaces/going", None),
]
CASES: list[tuple] = [
    ("POST", CMS, _cm("a")),
    ("POST", CMS, _cm("a")),  # AlreadyExists
    ("POST", CMS, {"metadata": {"generateName": "gen-"}, "data": {"k": "v"}}),
    ("POST", CMS, _cm("b", extra=1), ADMIN_TOKEN, "application/json", "?fieldValidation=Warn"),
    ("POST", CMS, _cm("c", extra=1), ADMIN_TOKEN, "application/json", "?fieldValidation=Strict"),
    ("POST", CMS, _cm("d"), ADMIN_TOKEN, "application/json", "?fieldValidation=Nope"),
    ("POST", CMS, {"kind": "Secret", "metadata": {"name": "e"}}),
    ("POST", CMS, {"apiVersion": "v2", "metadata": {"name": "e"}}),
    ("POST", CMS, {"metadata": {"name": "e", "namespace": "other"}}),
    ("POST", CMS, {"metadata": "e"}),
    ("POST", CMS, {"metadata": {"name": "Not_A_Name"}}),
    ("POST", CMS, {"metadata": {"name": "f"}, "data": {"k": 1}}),
    ("POST", CMS, b"{not json"),
    ("POST", CMS, b""),
    ("POST", CMS, b"[1]"),
    ("POST", CMS, b"metadata: {name: g}\ndata: {k: v}\n", ADMIN_TOKEN, "application/yaml"),
    ("POST", CMS, b"<x/>", ADMIN_TOKEN, "application/xml"),
    ("POST", "/api/v1/namespaces/ghost/configmaps", _cm("h")),
    ("POST", "/api/v1/namespaces/going/configmaps", _cm("i")),
    ("POST", "/api/v1/namespaces/quota/configmaps", _cm("j")),  # the quota's status is unknown
    ("POST", "/api/v1/namespaces/audit/pods", _privileged("p1")),
    ("POST", "/api/v1/namespaces/audit/pods", _privileged("p1")),  # warned, and AlreadyExists
    ("POST", "/api/v1/namespaces/locked/pods", _privileged("p2")),
    ("POST", PODS, pod("p3", ns=None, node="n1"), NODE_TOKEN),
    ("POST", CMS, _cm("k"), ALICE),
    ("POST", CMS, b"{bad", ALICE),
    ("POST", "/api/v1/namespaces", {"metadata": {"name": "made", "namespace": "x"}}),
    ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
     {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "resources": ["pods"],
                                             "apiGroups": [""]}]}),
    ("POST", "/api/v1/namespaces/default/events",
     {"metadata": {"name": "ev"}, "involvedObject": {"kind": "Pod", "name": "p"},
      "reason": "R", "message": "m"}),
]


def _run(api: Api, via: Any, case: tuple) -> Any:
    method, path, body, *rest = case
    token, content_type, query = (list(rest) + [ADMIN_TOKEN, "application/json", ""][len(rest):])
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return via(api, method, path + query, raw, token, content_type)


@pytest.fixture
def apis() -> Iterator[tuple[Api, Api]]:
    a, b = _api(), _api()
    for case in SETUP:
        for api in (a, b):
            assert _run(api, _flask, case).status_code < 300
    yield a, b
    a.close()
    b.close()


def test_creates_answer_as_flask_does(apis):
    codes = {(seen[0], bool(seen[2])) for seen in answered_alike(
        apis, CASES, lambda api, via, case: _comparable(_run(api, via, case)))}
    # all a create may answer, with warnings and without
    assert {201, 400, 403, 404, 409, 415, 422} <= {code for code, _ in codes}
    assert {(201, True), (409, True), (201, False)} <= codes


def test_creates_skip_flask(monkeypatch):
    api = _api()
    flask_creates = flask_calls(monkeypatch, "_create")
    try:
        assert api.post(CMS, _cm("direct")).status_code == 201
        assert flask_creates == []
        # a dry run is Flask's
        assert api.post(CMS, _cm("dry"), query={"dryRun": "All"}).status_code == 201
        assert flask_creates == ["configmaps"]
    finally:
        api.close()


def test_creates_are_made_on_the_event_loop_unless_a_step_would_wait():
    """No worker thread for a plain create; one (the whole create made again
    there) where a step would wait for the log: a quota to charge, a namespace
    this replica does not have (confirmed by a linearizable read), a body too
    large to parse on the loop (Events: below)."""
    api = _api()
    in_threads = worker_calls(api)
    try:
        for case in SETUP:
            assert _run(api, _flask, case).status_code < 300

        def create(path: str, body: dict | bytes) -> int:
            in_threads.clear()
            return _run(api, _asgi, ("POST", path, body)).status_code

        assert (create(CMS, _cm("plain")), in_threads) == (201, [])
        assert (create(CMS, _cm("plain")), in_threads) == (409, [])  # AlreadyExists, on the loop
        assert (create(CMS, {"metadata": {"generateName": "g-"}}), in_threads) == (201, [])
        assert (create("/api/v1/namespaces/audit/pods", _privileged("p")), in_threads) == (201, [])
        assert (create("/api/v1/namespaces/locked/pods", _privileged("p")), in_threads) \
            == (403, [])
        assert (create("/api/v1/namespaces/quota/configmaps", _cm("q")), in_threads) \
            == (403, [])  # the quota's status is not known yet: refused, on the loop
        quota = api.get("/api/v1/namespaces/quota/resourcequotas/q").json
        quota["status"] = {"hard": {"configmaps": "1"}, "used": {"configmaps": "0"}}
        assert api.put("/api/v1/namespaces/quota/resourcequotas/q/status",
                       quota).status_code == 200
        assert (create("/api/v1/namespaces/quota/configmaps", _cm("q")), in_threads) \
            == (201, ["answer"])  # charged to the quota: a transaction, in a thread
        assert (create("/api/v1/namespaces/ghost/configmaps", _cm("g")), in_threads) \
            == (404, ["answer"])
        big = json.dumps(_cm("big", data={"k": "x" * 70_000})).encode()
        assert (create(CMS, big), in_threads) == (201, ["answer"])
    finally:
        api.close()


def test_events_are_made_on_the_event_loop_while_their_store_lease_is_current():
    """The Events share a store lease: taking a new one is a Raft write, made
    in a worker thread, as is an Event created while a thread holds the
    lease's lock (it may be waiting for that write). With a current lease an
    Event is made on the loop; a lease gone from the store sends the Event to
    a thread, which takes a new one."""
    api = _api()
    clock = [1000.0]
    leases = api.state.event_leases
    leases.clock = lambda: clock[0]
    in_threads = worker_calls(api)
    names = iter(range(100))

    def create() -> tuple[int, list[str], int]:
        in_threads.clear()
        body = {"metadata": {"name": f"ev-{next(names)}"}, "involvedObject": {"kind": "Pod"}}
        r = _run(api, _asgi, ("POST", "/api/v1/namespaces/default/events", body))
        stored = api.store.get(f"/registry/events/default/{r.json['metadata']['name']}")
        return r.status_code, list(in_threads), stored.lease

    try:
        code, threads, first = create()  # no lease yet: granted in a thread
        assert (code, threads) == (201, ["answer"]) and first != 0
        assert create() == (201, [], first)  # on the loop, on the same lease
        # a thread renewing it holds the lock: the Event waits in a thread
        with ThreadPoolExecutor(1) as other:
            with leases._lock:
                pending = other.submit(create)
                wait_until(lambda: in_threads == ["answer"], 10, what="the Event sent to a thread")
            assert pending.result(10) == (201, ["answer"], first)
        clock[0] += leases.window  # due for renewal: a new one, in a thread
        code, threads, second = create()
        assert (code, threads) == (201, ["answer"]) and second not in (0, first)
        assert create() == (201, [], second)
        api.store.lease_revoke(second)  # gone from the store: a thread takes a new one
        code, threads, third = create()
        assert (code, threads) == (201, ["answer"]) and third not in (0, second)
        assert create() == (201, [], third)
    finally:
        api.close()
