"""Authentication, discovery documents, health and /status/raft."""

from __future__ import annotations

import pytest

from coxapi import kinds

from .api_harness import NODE_TOKEN, Api


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.mark.parametrize("path", ["/api/v1/pods", "/api/v1", "/apis", "/status/raft",
                                  "/api/v1/namespaces/default/secrets"])
def test_requests_without_a_valid_token_are_401(api, path):
    for token in (None, "wrong"):
        r = api.get(path, token=token)
        assert r.status_code == 401, path
        assert r.json["kind"] == "Status" and r.json["reason"] == "Unauthorized"


def test_only_bearer_tokens_count(api):
    r = api.client.get("/api/v1/pods", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert r.status_code == 401


def test_node_tokens_authenticate(api):
    assert api.get("/api/v1/nodes", token=NODE_TOKEN).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/version"])
def test_health_and_version_are_open(api, path):
    assert api.get(path, token=None).status_code == 200


def test_unauthenticated_writes_never_reach_the_store(api):
    rev = api.store.revision()
    r = api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}}, token="x")
    assert r.status_code == 401 and api.store.revision() == rev


def test_version_document(api):
    v = api.get("/version").json
    assert v["major"] == "1" and v["gitVersion"].startswith("v1.")


def test_api_and_apis_documents(api):
    assert api.get("/api").json["versions"] == ["v1"]
    groups = {g["name"]: g for g in api.get("/apis").json["groups"]}
    assert {"apps", "batch", "coordination.k8s.io", "metrics.k8s.io", "storage.k8s.io",
            "rbac.authorization.k8s.io", "authorization.k8s.io",
            "authentication.k8s.io"} <= set(groups)
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    assert api.get("/apis/apps").json["name"] == "apps"
    assert api.get("/apis/nope").status_code == 404


@pytest.mark.parametrize("gv", list(kinds.group_versions()))
def test_resource_lists_describe_every_kind_and_subresource(api, gv):
    prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
    doc = api.get(prefix).json
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == gv
    by_name = {r["name"]: r for r in doc["resources"]}
    for k in kinds.group_versions()[gv]:
        entry = by_name[k.plural]
        assert entry["kind"] == k.kind and entry["namespaced"] == k.namespaced
        assert entry["singularName"] == k.singular
        assert set(k.verbs) <= set(entry["verbs"])
        assert entry.get("shortNames", []) == list(k.short_names)
        for sub in k.subresources:
            assert f"{k.plural}/{sub}" in by_name
    if gv == "apps/v1":
        scale = by_name["deployments/scale"]
        assert (scale["kind"], scale["group"], scale["version"]) == ("Scale", "autoscaling", "v1")


def test_status_raft_reports_the_store_status_and_name(api):
    s = api.get("/status/raft").json
    assert s["name"] == "m-test"
    for key in ("id", "role", "leader", "term", "commit_index", "applied_index", "peers"):
        assert key in s


def test_readyz_needs_a_leader(api, monkeypatch):
    monkeypatch.setattr(api.store, "status", lambda: {"leader": None, "commit_index": 5,
                                                      "applied_index": 5})
    r = api.get("/readyz", token=None)
    assert r.status_code == 503 and b"leader" in r.data


def test_readyz_needs_the_replica_caught_up(api, monkeypatch):
    monkeypatch.setattr(api.store, "status", lambda: {"leader": "x", "commit_index": 500,
                                                      "applied_index": 5})
    assert api.get("/readyz", token=None).status_code == 503


def test_readyz_needs_a_connection_to_the_leader(api, monkeypatch):
    # a follower cut off from everyone keeps naming its old leader
    monkeypatch.setattr(api.store, "status", lambda: {
        "role": "follower", "leader": "b", "commit_index": 5, "applied_index": 5,
        "peers": [{"id": "b", "connected": False}, {"id": "c", "connected": False}]})
    r = api.get("/readyz", token=None)
    assert r.status_code == 503 and b"not connected" in r.data
