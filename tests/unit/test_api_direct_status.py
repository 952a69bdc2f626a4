"""Status writes (``PUT .../NAME/status``) through the master's ASGI app take
the direct path (master.api.directstatus) and answer exactly as the Flask
handler does: the same writes, made on two identical APIs, one through each,
get the same code, Status, object and warnings."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.unit.api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, deployment, pod
from tests.unit.test_api_direct_create import (
    ALICE,
    _api,
    _asgi,
    _comparable,
    answered_alike,
    flask_calls,
    worker_calls,
)

POD = "/api/v1/namespaces/default/pods/{}/status"
Mutate = Callable[[dict], Any]


def _phase(phase: str) -> Mutate:
    def mutate(o: dict) -> dict:
        o["status"] = {"phase": phase}
        return o
    return mutate


def _with(**meta: Any) -> Mutate:
    def mutate(o: dict) -> dict:
        o["metadata"].update(meta)
        o["status"] = {"phase": "Running"}
        return o
    return mutate


def _without_version(o: dict) -> dict:
    del o["metadata"]["resourceVersion"]
    o["status"] = {"phase": "Succeeded"}
    return o


def _spec_too(o: dict) -> dict:  # a status write keeps the stored spec
    o["spec"]["containers"][0]["image"] = "other:2"
    o["status"] = {"phase": "Failed"}
    return o


def _unknown_field(o: dict) -> dict:
    o["status"] = {"phase": "Running", "bogus": 1}
    return o


def _kind(o: dict) -> dict:
    o["kind"] = "Service"
    return o


def _replicas(o: dict) -> dict:
    o["status"] = {"replicas": 3, "readyReplicas": 1}
    return o


# (path, how the body is made from the object read back from that API (or raw
# bytes), token, query, content type); each runs after the ones before it
CASES: list[tuple] = [
    (POD.format("s1"), _phase("Running")),
    (POD.format("s1"), _phase("Running")),  # the same version again: stale, 409 from the copy
    (POD.format("s1"), _without_version),
    (POD.format("s1"), _with(resourceVersion="999999")),  # read through Raft, then 409
    (POD.format("s1"), _with(uid="not-its-uid")),
    (POD.format("s1"), _with(name="other")),
    (POD.format("s1"), _with(namespace="other")),
    (POD.format("s1"), _spec_too),
    (POD.format("s1"), _unknown_field, ADMIN_TOKEN, "?fieldValidation=Warn"),
    (POD.format("s1"), _unknown_field, ADMIN_TOKEN, "?fieldValidation=Strict"),
    (POD.format("s1"), _kind),
    (POD.format("ghost"), lambda o: pod("ghost")),
    (POD.format("s1"), b"{not json"),
    (POD.format("s1"), b""),
    (POD.format("s1"), b"<x/>", ADMIN_TOKEN, "", "application/xml"),
    (POD.format("s1"), _phase("Running"), ALICE),  # no rights
    (POD.format("s1"), _phase("Running"), NODE_TOKEN),  # its own node's pod
    (POD.format("s2"), _phase("Running"), NODE_TOKEN),  # another node's: NodeRestriction
    ("/apis/apps/v1/namespaces/default/deployments/d/status", _replicas),
]


def _object(api: Api, path: str) -> dict:
    r = api.get(path.removesuffix("/status"))
    return r.json if r.status_code == 200 else {}


def _put(api: Api, via: Any, case: tuple) -> tuple:
    """What the client sees (``_comparable``), the object's uid (which differs
    between the two APIs) replaced in a Status's message."""
    path, make, *rest = case
    token, query, content_type = list(rest) + [ADMIN_TOKEN, "", "application/json"][len(rest):]
    obj = _object(api, path)
    raw = make if isinstance(make, bytes) else json.dumps(make(copy.deepcopy(obj))).encode()
    seen = _comparable(via(api, "PUT", path + query, raw, token, content_type))
    uid = obj.get("metadata", {}).get("uid")
    doc = seen[3]
    if uid and isinstance(doc, dict) and isinstance(doc.get("message"), str):
        doc["message"] = doc["message"].replace(uid, "UID")
    return seen


@pytest.fixture
def apis() -> Iterator[tuple[Api, Api]]:
    a, b = _api(), _api()
    for api in (a, b):
        for body in (pod("s1", node="n1"), pod("s2", node="n2")):
            assert api.post("/api/v1/namespaces/default/pods", body).status_code == 201
        assert api.post("/apis/apps/v1/namespaces/default/deployments",
                        deployment("d")).status_code == 201
    yield a, b
    a.close()
    b.close()


def test_status_writes_answer_as_flask_does(apis):
    _, asgi_api = apis
    codes = {(seen[0], bool(seen[2])) for seen in answered_alike(apis, CASES, _put)}
    # all a status write may answer, with warnings and without
    assert {200, 400, 403, 404, 409, 415} <= {code for code, _ in codes}
    assert {(200, True), (200, False)} <= codes
    assert _object(asgi_api, POD.format("s1"))["spec"]["containers"][0]["image"] == "busybox:1.36"


def test_status_writes_skip_flask(monkeypatch):
    api = _api()
    flask_updates = flask_calls(monkeypatch, "_update")
    try:
        assert api.post("/api/v1/namespaces/default/pods", pod("p")).status_code == 201
        body = copy.deepcopy(api.get("/api/v1/namespaces/default/pods/p").json)
        body["status"] = {"phase": "Running"}
        assert api.put(POD.format("p"), body).status_code == 200
        assert flask_updates == []
        # a dry run, and a write of the object itself, are Flask's
        body = api.get("/api/v1/namespaces/default/pods/p").json
        assert api.put(POD.format("p"), body, query={"dryRun": "All"}).status_code == 200
        assert api.put("/api/v1/namespaces/default/pods/p", body).status_code == 200
        assert flask_updates == ["pods", "pods"]
    finally:
        api.close()


def test_status_writes_are_made_on_the_event_loop_when_the_replica_holds_the_version():
    """No worker thread when this replica's copy is the version the writer
    names (a node agent writing from its last answer); the whole write is made
    in a thread when the object must be read through Raft first (no version,
    a version this replica has not seen, an object it does not have), or the
    body is too large to parse on the loop."""
    api = _api()
    in_threads = worker_calls(api)

    def put(name: str, make: Any, token: str = ADMIN_TOKEN) -> tuple[int, list[str]]:
        in_threads.clear()
        seen = _put(api, _asgi, (POD.format(name), make, token))
        return seen[0], list(in_threads)

    try:
        assert api.post("/api/v1/namespaces/default/pods", pod("s1", node="n1")).status_code \
            == 201
        assert put("s1", _phase("Running")) == (200, [])
        assert put("s1", _phase("Running"), NODE_TOKEN) == (200, [])
        assert put("s1", _phase("Running"), ALICE) == (403, [])
        stale = _object(api, POD.format("s1"))
        assert put("s1", _phase("Succeeded")) == (200, [])
        assert put("s1", lambda o: {**stale, "status": {"phase": "Failed"}}) == (409, [])
        assert put("s1", _without_version) == (200, ["answer"])
        assert put("s1", _with(resourceVersion="999999")) == (409, ["answer"])
        assert put("ghost", lambda o: pod("ghost")) == (404, ["answer"])

        def big(o: dict) -> dict:
            o["status"] = {"phase": "Running", "message": "x" * 70_000}
            return o
        assert put("s1", big) == (200, ["answer"])
    finally:
        api.close()
