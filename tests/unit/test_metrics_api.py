"""The resource Metrics API (metrics.k8s.io/v1beta1) made from the agents' usage
reports on their Leases: the report format (pure) and the API's shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coxapi.timefmt import now_rfc3339, rfc3339
from coxapi.usagereport import USAGE_ANNOTATION, UsageReport, cpu_quantity, memory_quantity

from .api_harness import Api, pod

BASE = "/apis/metrics.k8s.io/v1beta1"


def test_a_report_survives_encoding_and_a_bad_one_is_none():
    r = UsageReport("2024-01-01T00:00:00Z", 5.0, (250_000_000, 2**30),
                    {"u1": {"app": (12_345, 4096)}})
    assert UsageReport.decode(r.encode()) == r
    for bad in ("", "{", '{"t": 1}', '{"t":"x","w":1,"node":[1]}'):
        assert UsageReport.decode(bad) is None


def test_quantities_are_metrics_servers():
    assert cpu_quantity(250_000_000) == "250000000n"
    assert memory_quantity(2**20 + 5) == "1024Ki" and memory_quantity(512) == "512"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def add_node_with_report(api: Api, name: str, report: UsageReport, labels: dict | None = None):
    assert api.post("/api/v1/nodes", {"metadata": {"name": name,
                                                   "labels": labels or {}}}).status_code == 201
    lease = {"metadata": {"name": name, "annotations": {USAGE_ANNOTATION: report.encode()}},
             "spec": {"holderIdentity": name}}
    r = api.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)
    assert r.status_code == 201, r.json


def test_discovery_lists_the_metrics_group_and_its_resources(api):
    groups = {g["name"]: g for g in api.get("/apis").json["groups"]}
    assert groups["metrics.k8s.io"]["preferredVersion"]["groupVersion"] == \
        "metrics.k8s.io/v1beta1"
    assert api.get("/apis/metrics.k8s.io").json["name"] == "metrics.k8s.io"
    resources = {r["name"]: r for r in api.get(BASE).json["resources"]}
    assert resources["nodes"]["kind"] == "NodeMetrics" and not resources["nodes"]["namespaced"]
    assert resources["pods"]["kind"] == "PodMetrics" and resources["pods"]["verbs"] == \
        ["get", "list"]


def test_node_and_pod_metrics_come_from_the_lease_reports(api):
    body = pod("web", node="n1")
    body["metadata"]["labels"] = {"app": "web"}
    body["spec"]["containers"].append({"name": "side", "image": "x:1"})
    created = api.post("/api/v1/namespaces/default/pods", body).json
    uid = created["metadata"]["uid"]
    now = now_rfc3339()
    add_node_with_report(api, "n1", UsageReport(now, 5.0, (1_500_000_000, 3 * 2**30), {
        uid: {"side": (1_000_000, 2**20), "app": (250_000_000, 64 * 2**20)}}), {"zone": "a"})
    add_node_with_report(api, "n2", UsageReport(rfc3339(0), 5.0, (1, 1)))  # stale: left out

    nodes = api.get(f"{BASE}/nodes").json
    assert nodes["kind"] == "NodeMetricsList" and [n["metadata"]["name"] for n in
                                                   nodes["items"]] == ["n1"]
    n1 = api.get(f"{BASE}/nodes/n1").json
    assert n1["usage"] == {"cpu": "1500000000n", "memory": "3145728Ki"}
    assert n1["timestamp"] == now and n1["window"] == "5s" and n1["metadata"]["labels"] == \
        {"zone": "a"}
    assert api.get(f"{BASE}/nodes/n2").status_code == 404
    assert api.get(f"{BASE}/nodes", query={"labelSelector": "zone=b"}).json["items"] == []

    p = api.get(f"{BASE}/namespaces/default/pods/web").json
    assert p["kind"] == "PodMetrics" and p["metadata"]["namespace"] == "default"
    assert p["containers"] == [  # in the pod's order
        {"name": "app", "usage": {"cpu": "250000000n", "memory": "65536Ki"}},
        {"name": "side", "usage": {"cpu": "1000000n", "memory": "1024Ki"}}]
    assert [x["metadata"]["name"] for x in api.get(f"{BASE}/pods").json["items"]] == ["web"]
    listed = api.get(f"{BASE}/namespaces/default/pods", query={"labelSelector": "app=web"})
    assert len(listed.json["items"]) == 1
    assert api.get(f"{BASE}/namespaces/other/pods").json["items"] == []
    assert api.get(f"{BASE}/namespaces/default/pods/ghost").status_code == 404
    bad = api.get(f"{BASE}/pods", query={"labelSelector": "a b=c"})
    assert bad.status_code == 400 and bad.json["message"].startswith("labelSelector:")
    assert api.get(f"{BASE}/pods", token=None).status_code == 401
