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


def test_a_node_reads_cluster_state_and_records_events(api):
    assert as_node(api, "GET", "/api/v1/pods").status_code == 200
    assert as_node(api, "GET", "/api/v1/services").status_code == 200
    ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
          "type": "Normal", "reason": "Started"}
    assert as_node(api, "POST", "/api/v1/namespaces/default/events", ev).status_code == 201
    r = as_node(api, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    assert r.status_code == 403
    api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "data": {}})
    assert as_node(api, "DELETE", "/api/v1/namespaces/default/secrets/s").status_code == 403


SECRETS = "/api/v1/namespaces/default/secrets"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def uses(name: str, node_name: str, secret: str, config_map: str) -> dict:
    return pod(name, node=node_name, containers=[{
        "name": "app", "image": "busybox:1.36",
        "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}],
        "envFrom": [{"configMapRef": {"name": config_map}}]}])


def test_a_node_reads_only_the_secrets_and_configmaps_of_its_own_pods(api):
    for n in ("mine", "theirs", "unused"):
        assert api.post(SECRETS, {"metadata": {"name": n}, "data": {}}).status_code == 201
        assert api.post(CONFIGMAPS, {"metadata": {"name": n}}).status_code == 201
    api.post(POD, uses("p1", "n1", "mine", "mine"))
    api.post(POD, uses("p2", "n2", "theirs", "theirs"))
    for base in (SECRETS, CONFIGMAPS):
        assert as_node(api, "GET", f"{base}/mine").status_code == 200
        r = as_node(api, "GET", f"{base}/theirs")
        assert r.status_code == 403 and "used by pods bound to it" in r.json["message"]
        assert as_node(api, "GET", f"{base}/unused").status_code == 403
        assert as_node(api, "GET", base).status_code == 403, "no list"
        assert as_node(api, "GET", f"/api/v1/{base.rsplit('/', 1)[1]}").status_code == 403
    other_ns = "/api/v1/namespaces/kube-system/secrets/mine"
    assert as_node(api, "GET", other_ns).status_code == 403


def test_a_node_may_not_watch_secrets_nor_read_pod_logs(api):
    headers = {"Authorization": f"Bearer {NODE_TOKEN}"}
    http = api.session()
    try:
        r = http.get(f"{api.url}{SECRETS}", params={"watch": "true"}, headers=headers,
                     timeout=10)
        assert r.status_code == 403
        api.post(POD, pod("p1", node="n1"))
        r = http.get(f"{api.url}{POD}/p1/log", headers=headers, timeout=10)
        assert r.status_code == 403
    finally:
        api.close()


def test_a_node_may_not_give_itself_a_role_or_restricted_labels(api):
    role = {"node-role.kubernetes.io/master": ""}
    body = {**node("n1"), "metadata": {"name": "n1", "labels": role}}
    r = as_node(api, "POST", "/api/v1/nodes", body)
    assert r.status_code == 403 and "node-role.kubernetes.io/master" in r.json["message"]
    assert as_node(api, "POST", "/api/v1/nodes", node("n1")).status_code == 201
    merge = "application/merge-patch+json"
    for label in ("node-role.kubernetes.io/control-plane", "node-restriction.kubernetes.io/x"):
        r = as_node(api, "PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {label: "y"}}},
                    content_type=merge)
        assert r.status_code == 403, label
    assert as_node(api, "PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"zone": "a"}}},
                   content_type=merge).status_code == 200
    # the admin may label it; the node's own updates keep the label and pass
    assert api.patch("/api/v1/nodes/n1", {"metadata": {"labels": role}}).status_code == 200
    cur = api.get("/api/v1/nodes/n1").json
    assert as_node(api, "PUT", "/api/v1/nodes/n1", cur).status_code == 200
    cur = api.get("/api/v1/nodes/n1").json
    assert as_node(api, "PUT", "/api/v1/nodes/n1/status", cur).status_code == 200
    r = as_node(api, "PATCH", "/api/v1/nodes/n1",
                {"metadata": {"labels": {"node-role.kubernetes.io/master": None}}},
                content_type=merge)
    assert r.status_code == 403


def test_the_admin_is_not_restricted(api):
    assert api.post("/api/v1/nodes", node("n2")).status_code == 201
    assert api.post(LEASES, lease("n2")).status_code == 201
    assert api.delete("/api/v1/nodes/n2").status_code == 200


def test_a_node_deleting_a_pod_that_is_gone_gets_404_not_403(api):
    assert as_node(api, "DELETE", f"{POD}/gone", {"gracePeriodSeconds": 0}).status_code == 404


def test_a_node_reads_what_its_pods_volumes_and_dns_need_and_writes_no_workload(api):
    ns = "/api/v1/namespaces/default"
    for kind, name in (("secrets", "proj-s"), ("configmaps", "proj-c"), ("secrets", "other")):
        assert api.post(f"{ns}/{kind}", {"metadata": {"name": name}}).status_code == 201
    p = pod("mine", node="n1")
    p["spec"]["volumes"] = [{"name": "v", "projected": {"sources": [
        {"secret": {"name": "proj-s"}}, {"configMap": {"name": "proj-c"}},
        {"serviceAccountToken": {"path": "token"}}]}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    assert api.post(POD, p).status_code == 201
    # projected sources are resolved by name (node.volumes.CachedResolver)
    assert as_node(api, "GET", f"{ns}/secrets/proj-s").status_code == 200
    assert as_node(api, "GET", f"{ns}/configmaps/proj-c").status_code == 200
    assert as_node(api, "GET", f"{ns}/secrets/other").status_code == 403
    # claims, volumes and classes (local-path reclaimer), Services/Endpoints (DNS)
    for path in (f"{ns}/persistentvolumeclaims", "/api/v1/persistentvolumes",
                 "/apis/storage.k8s.io/v1/storageclasses", "/api/v1/services",
                 "/api/v1/endpoints"):
        assert as_node(api, "GET", path).status_code == 200, path
    for path in ("/apis/batch/v1/namespaces/default/jobs", "/apis/apps/v1/namespaces/default/"
                 "daemonsets", "/apis/apps/v1/namespaces/default/statefulsets"):
        r = as_node(api, "POST", path, {"metadata": {"name": "x"}})
        assert r.status_code == 403, path
    r = as_node(api, "POST", f"{ns}/persistentvolumeclaims", {"metadata": {"name": "x"}})
    assert r.status_code == 403
