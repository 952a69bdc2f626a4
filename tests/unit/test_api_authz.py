"""Node credentials write only what belongs to their node (like Kubernetes'
Node authorizer); the admin may do everything."""

from __future__ import annotations

import pytest

from .api_harness import NODE_TOKEN, Api, pod

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
POD = "/api/v1/namespaces/default/pods"


@pytest.fixture
def api() -> Api:
    return Api()


def node(name: str) -> dict:
    return {"metadata": {"name": name}, "status": {"addresses": []}}


def lease(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"holderIdentity": name}}


def as_node(api: Api, method: str, path: str, body=None, **kw):
    return api.request(method, path, body, token=NODE_TOKEN, **kw)


def test_a_node_manages_its_own_node_and_lease_only(api):
    assert as_node(api, "POST", "/api/v1/nodes", node("n1")).status_code == 201
    cur = api.get("/api/v1/nodes/n1").json
    assert as_node(api, "PUT", "/api/v1/nodes/n1/status", cur).status_code == 200
    assert as_node(api, "PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"a": "b"}}},
                   content_type="application/merge-patch+json").status_code == 200
    assert as_node(api, "POST", "/api/v1/nodes", node("n2")).status_code == 403
    assert as_node(api, "DELETE", "/api/v1/nodes/n1").status_code == 403
    assert as_node(api, "POST", LEASES, lease("n1")).status_code == 201
    assert as_node(api, "PUT", f"{LEASES}/n1", api.get(f"{LEASES}/n1").json).status_code == 200
    r = as_node(api, "POST", LEASES, lease("n2"))
    assert r.status_code == 403 and r.json["reason"] == "Forbidden"
    r = as_node(api, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease("n1"))
    assert r.status_code == 403


def test_a_node_writes_the_status_of_its_own_pods_and_finishes_their_deletion(api):
    api.post(POD, pod("mine", node="n1"))
    api.post(POD, pod("theirs", node="n2"))
    patch = {"status": {"phase": "Running"}}
    ctype = "application/merge-patch+json"
    assert as_node(api, "PATCH", f"{POD}/mine/status", patch, content_type=ctype).status_code == 200
    assert as_node(api, "PATCH", f"{POD}/theirs/status", patch,
                   content_type=ctype).status_code == 403
    assert as_node(api, "PATCH", f"{POD}/mine", {"metadata": {"labels": {"x": "y"}}},
                   content_type=ctype).status_code == 403
    assert as_node(api, "DELETE", f"{POD}/theirs").status_code == 403
    api.delete(f"{POD}/mine")  # the admin starts a graceful deletion
    r = as_node(api, "DELETE", f"{POD}/mine", {"gracePeriodSeconds": 0})
    assert r.status_code == 200 and api.get(f"{POD}/mine").status_code == 404
    assert as_node(api, "POST", POD, pod("new")).status_code == 403


def test_a_node_reads_everything_and_records_events(api):
    api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "data": {}})
    assert as_node(api, "GET", "/api/v1/namespaces/default/secrets/s").status_code == 200
    assert as_node(api, "GET", "/api/v1/pods").status_code == 200
    ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
          "type": "Normal", "reason": "Started"}
    assert as_node(api, "POST", "/api/v1/namespaces/default/events", ev).status_code == 201
    r = as_node(api, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    assert r.status_code == 403
    assert as_node(api, "DELETE", "/api/v1/namespaces/default/secrets/s").status_code == 403


def test_the_admin_is_not_restricted(api):
    assert api.post("/api/v1/nodes", node("n2")).status_code == 201
    assert api.post(LEASES, lease("n2")).status_code == 201
    assert api.delete("/api/v1/nodes/n2").status_code == 200


def test_a_node_deleting_a_pod_that_is_gone_gets_404_not_403(api):
    assert as_node(api, "DELETE", f"{POD}/gone", {"gracePeriodSeconds": 0}).status_code == 404
