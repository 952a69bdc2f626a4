"""DELETEs of one object through the master's ASGI app take the direct path
(master.api.directdelete) and answer exactly as the Flask handler does: the
same requests, made on two identical APIs, one through each, get the same
code, Status or object, and leave the same objects behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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

PODS = "/api/v1/namespaces/default/pods"
CMS = "/api/v1/namespaces/default/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def _opts(**more: Any) -> Any:
    return lambda api: {"kind": "DeleteOptions", "apiVersion": "v1", **more}


def _own(field: str, path: str) -> Any:
    """DeleteOptions with a precondition on the object's own uid or resourceVersion."""
    def make(api: Api) -> dict:
        meta = api.get(path).json["metadata"]
        return {"kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {field: meta[field]}}
    return make


# (path, body (from the API it is sent to; None: no body; or raw bytes), token, query, type)
CASES: list[tuple] = [
    (f"{PODS}/p1", _own("uid", f"{PODS}/p1"), NODE_TOKEN),  # a node agent's final delete
    (f"{PODS}/p2", _opts(), NODE_TOKEN),  # another node's pod: 403
    (f"{PODS}/p2", None, ALICE),  # no rights: 403
    (f"{PODS}/p2", None),  # graceful: marked (30 s)
    (f"{PODS}/p2", None),  # marked already: nothing to write
    (f"{PODS}/p2", _opts(gracePeriodSeconds=0, preconditions={"uid": "not-its-uid"})),  # 409
    (f"{PODS}/p2", _opts(preconditions={"resourceVersion": "1"})),  # 409
    (f"{PODS}/p2", _own("resourceVersion", f"{PODS}/p2")),  # removed now
    (f"{PODS}/p3", _opts(gracePeriodSeconds=0, dryRun=["All"])),  # a dry run: p3 stays
    (f"{PODS}/p3", _opts(gracePeriodSeconds=-1)),  # 400
    (f"{PODS}/p3", _opts(propagationPolicy="Sideways")),  # 400
    (f"{PODS}/p3", json.dumps({"kind": "Pod"}).encode()),  # not DeleteOptions: 400
    (f"{PODS}/p3", b"{not json"),
    (f"{PODS}/ghost", None),  # 404
    (f"{CMS}/c1", None),  # removed at once: a Status
    (f"{CMS}/c2", _opts(), ADMIN_TOKEN, "?gracePeriodSeconds=0"),
    (f"{CMS}/c3", None, ADMIN_TOKEN, "?propagationPolicy=Background"),
    (f"{CMS}/fin", None),  # a finalizer: only marked
    (f"{DEPLOYS}/d", _opts(propagationPolicy="Orphan")),  # its set orphaned, then removed
]


def _delete(api: Api, via: Any, case: tuple) -> tuple:
    """What the client sees (``_comparable``), less what differs between two
    stores by chance (uids, the deletion's second)."""
    path, make, *rest = case
    token, query, content_type = list(rest) + [ADMIN_TOKEN, "", "application/json"][len(rest):]
    raw = make if isinstance(make, bytes) or make is None else json.dumps(make(api)).encode()
    seen = _comparable(via(api, "DELETE", path + query, raw, token, content_type))
    doc = seen[3]
    if isinstance(doc, dict):
        if isinstance(doc.get("message"), str):
            doc["message"] = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "UID", doc["message"])
        (doc.get("details") or {}).pop("uid", None)
        (doc.get("metadata") or {}).pop("deletionTimestamp", None)
        for ref in (doc.get("metadata") or {}).get("ownerReferences") or []:
            ref.pop("uid", None)
    return seen


def _left(api: Api) -> dict[str, list[str]]:
    """What each API holds after the deletes: names, and who owns what."""
    out = {}
    for path in (PODS, CMS, DEPLOYS, "/apis/apps/v1/namespaces/default/replicasets"):
        items = api.get(path).json["items"]
        out[path] = sorted(f"{i['metadata']['name']}:{bool(i['metadata'].get('deletionTimestamp'))}"
                           f":{len(i['metadata'].get('ownerReferences') or [])}" for i in items)
    return out


@pytest.fixture
def apis() -> Iterator[tuple[Api, Api]]:
    a, b = _api(), _api()
    for api in (a, b):
        for name, node in (("p1", "n1"), ("p2", "n2"), ("p3", "n1")):
            assert api.post(PODS, pod(name, node=node)).status_code == 201
        for name in ("c1", "c2", "c3"):
            assert api.post(CMS, {"metadata": {"name": name}}).status_code == 201
        assert api.post(CMS, {"metadata": {"name": "fin", "finalizers": ["example.com/keep"]}}
                        ).status_code == 201
        d = api.post(DEPLOYS, deployment("d")).json
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "d-1", "ownerReferences": [{
                  "apiVersion": "apps/v1", "kind": "Deployment", "name": "d",
                  "uid": d["metadata"]["uid"], "controller": True}]},
              "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "d"}},
                       "template": d["spec"]["template"]}}
        assert api.post("/apis/apps/v1/namespaces/default/replicasets", rs).status_code == 201
    yield a, b
    a.close()
    b.close()


def test_deletes_answer_as_flask_does(apis):
    flask_api, asgi_api = apis
    codes = {seen[0] for seen in answered_alike(apis, CASES, _delete)}
    assert {200, 400, 403, 404, 409} <= codes
    assert _left(asgi_api) == _left(flask_api)
    assert _left(asgi_api)[PODS] == ["p3:False:0"]  # p1, p2 removed; the dry run kept p3


def test_deletes_skip_flask(monkeypatch, apis):
    _, api = apis
    flask_deletes = flask_calls(monkeypatch, "_delete")
    assert _asgi(api, "DELETE", f"{CMS}/c1", None, ADMIN_TOKEN, "").status_code == 200
    assert flask_deletes == []
    r = _asgi(api, "DELETE", f"{CMS}/c2?dryRun=All", None, ADMIN_TOKEN, "")
    assert r.status_code == 200 and flask_deletes == ["configmaps"]  # the query's dry run
    assert api.get(f"{CMS}/c2").status_code == 200


def test_a_delete_is_made_on_the_event_loop_when_this_replicas_copy_will_do(apis):
    """No worker thread for a node agent's final delete of its pod, or a
    graceful one, made from this replica's copy; the whole delete is made in a
    thread when the copy will not do (nothing to write, a precondition it
    fails, dependents to orphan, a dry run in the body) or is missing."""
    _, api = apis
    in_threads = worker_calls(api)

    def delete(path: str, body: Any = None, token: str = ADMIN_TOKEN) -> tuple[int, list[str]]:
        in_threads.clear()
        raw = None if body is None else json.dumps(body(api) if callable(body) else body).encode()
        r = _asgi(api, "DELETE", path, raw, token, "application/json")
        return r.status_code, list(in_threads)

    assert delete(f"{PODS}/p1", _own("uid", f"{PODS}/p1"), NODE_TOKEN) == (200, [])
    assert delete(f"{PODS}/p2") == (200, [])  # marked
    assert delete(f"{PODS}/p2") == (200, ["answer"])  # nothing to write: the latest
    assert delete(f"{PODS}/p3", _opts(preconditions={"uid": "x"})) == (409, ["answer"])
    assert delete(f"{PODS}/p3", _opts(dryRun=["All"])) == (200, ["answer"])
    assert delete(f"{DEPLOYS}/d", _opts(propagationPolicy="Orphan")) == (200, ["answer"])
    assert delete(f"{PODS}/ghost") == (404, ["answer"])
    assert delete(f"{CMS}/c1") == (200, [])
