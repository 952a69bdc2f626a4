"""TokenRequests (``POST .../serviceaccounts/NAME/token``) through the
master's ASGI app take the direct path (master.api.directtoken) and answer
exactly as the Flask handler does: the same requests, made on two identical
APIs, one through each, get the same code, Status or TokenRequest (less the
token itself, signed by each API's own key)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod
from tests.unit.test_api_direct_create import (
    ALICE,
    _api,
    _asgi,
    _comparable,
    answered_alike,
    flask_calls,
    worker_calls,
)

SA = "/api/v1/namespaces/default/serviceaccounts"
PODS = "/api/v1/namespaces/default/pods"


def _bound(api: Api, name: str, **spec: Any) -> dict:
    """A TokenRequest bound to pod ``name`` as this API holds it (``uid`` may be overridden)."""
    p = api.get(f"{PODS}/{name}").json
    ref = {"kind": "Pod", "apiVersion": "v1", "name": name, "uid": p["metadata"]["uid"]}
    ref.update(spec.pop("ref", {}))
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"boundObjectRef": ref, **spec}}


def _unbound(**spec: Any) -> dict:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


# (account, the body from the API it is sent to (or raw bytes), token, query, content type)
CASES: list[tuple] = [
    ("robot", lambda a: _bound(a, "p1")),
    ("robot", lambda a: _bound(a, "p1"), NODE_TOKEN),  # its own node's pod
    ("robot", lambda a: _bound(a, "p2"), NODE_TOKEN),  # another node's: 403
    ("robot", lambda a: _unbound(), NODE_TOKEN),  # a node's token must be bound: 403
    ("robot", lambda a: _unbound(expirationSeconds=None, audiences=None)),  # kubectl's nulls
    ("robot", lambda a: _unbound(expirationSeconds=10)),  # too short: 422
    ("robot", lambda a: _unbound(expirationSeconds="1h")),
    ("robot", lambda a: _unbound(audiences=[1])),
    ("robot", lambda a: _unbound(audiences=["vault"], expirationSeconds=3600)),
    ("robot", lambda a: _bound(a, "p1", ref={"uid": "not-its-uid"})),  # replaced: 409
    ("other", lambda a: _bound(a, "p1")),  # p1 runs as robot: 409
    ("robot", lambda a: _bound(a, "p1", ref={"kind": "Secret"})),  # 422
    ("robot", lambda a: _bound(a, "p1", ref={"name": "ghost"})),  # no such pod: 404
    ("ghost", lambda a: _unbound()),  # no such account: 404
    ("robot", lambda a: _unbound(), ALICE),  # no rights: 403
    ("robot", b"{not json"),
    ("robot", b""),
    ("robot", b"<x/>", ADMIN_TOKEN, "", "application/xml"),
]


def _request(api: Api, via: Any, case: tuple) -> tuple:
    """What the client sees (``_comparable``), less the token and when it expires."""
    account, make, *rest = case
    token, query, content_type = list(rest) + [ADMIN_TOKEN, "", "application/json"][len(rest):]
    raw = make if isinstance(make, bytes) else json.dumps(make(api)).encode()
    seen = _comparable(via(api, "POST", f"{SA}/{account}/token{query}", raw, token,
                           content_type))
    doc = seen[3]
    if isinstance(doc, dict) and isinstance(doc.get("status"), dict):
        assert doc["status"].pop("token") and doc["status"].pop("expirationTimestamp")
    if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
        ref = doc["spec"].get("boundObjectRef") or {}
        ref.pop("uid", None)  # each API's pod has its own
    return seen


@pytest.fixture
def apis() -> Iterator[tuple[Api, Api]]:
    a, b = _api(), _api()
    for api in (a, b):
        for name in ("robot", "other"):
            assert api.post(SA, {"metadata": {"name": name}}).status_code == 201
        for name, node in (("p1", "n1"), ("p2", "n2")):
            assert api.post(PODS, pod(name, node=node, serviceAccountName="robot")) \
                .status_code == 201
    yield a, b
    a.close()
    b.close()


def test_token_requests_answer_as_flask_does(apis):
    codes = {seen[0] for seen in answered_alike(apis, CASES, _request)}
    assert {201, 400, 403, 404, 409, 415, 422} <= codes


def test_token_requests_skip_flask(monkeypatch, apis):
    _, api = apis
    flask_tokens = flask_calls(monkeypatch, "_token")
    body = json.dumps(_bound(api, "p1")).encode()
    assert _asgi(api, "POST", f"{SA}/robot/token", body, NODE_TOKEN,
                 "application/json").status_code == 201
    assert flask_tokens == []
    r = _asgi(api, "POST", f"{SA}/robot/token?dryRun=All", body, NODE_TOKEN, "application/json")
    assert r.status_code == 201 and flask_tokens == ["serviceaccounts"]  # a dry run is Flask's


def test_a_token_is_signed_on_the_event_loop_when_the_replica_holds_the_account_and_pod(apis):
    """No worker thread once the signing key is loaded and this replica holds
    the account and the pod; a token that needs a Raft read first (the key's
    first load, an account or pod this replica lacks) is made in a thread."""
    _, api = apis
    in_threads = worker_calls(api)

    def ask(account: str, body: dict, token: str = NODE_TOKEN) -> tuple[int, list[str]]:
        in_threads.clear()
        r = _asgi(api, "POST", f"{SA}/{account}/token", json.dumps(body).encode(), token,
                  "application/json")
        return r.status_code, list(in_threads)

    assert ask("robot", _bound(api, "p1")) == (201, ["answer"])  # loads the signing key
    assert ask("robot", _bound(api, "p1")) == (201, [])
    assert ask("robot", _unbound(), ADMIN_TOKEN) == (201, [])
    assert ask("robot", _bound(api, "p2")) == (403, ["answer"])  # only the latest may refuse
    assert ask("ghost", _unbound(), ADMIN_TOKEN) == (404, ["answer"])
    assert ask("robot", _bound(api, "p1", ref={"name": "ghost"})) == (404, ["answer"])
