"""HorizontalPodAutoscaler at autoscaling/v1 beside the stored autoscaling/v2:
the conversions (pure), and the API serving both versions of the one stored
object: discovery, create, get, list, update, patch, apply, delete, watch."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from coxapi.kinds import horizontalpodautoscaler as hpa

from .api_harness import ADMIN_TOKEN, Api

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def cpu(percent: int) -> dict:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": percent}}}


MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}


def v1_hpa(name: str = "web", percent: int | None = 50) -> dict:
    spec: dict = {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 3}
    if percent is not None:
        spec["targetCPUUtilizationPercentage"] = percent
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name}, "spec": spec}


def v2_hpa(name: str = "web", metrics: list | None = None, **spec: object) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 3,
                     "metrics": metrics if metrics is not None else [cpu(50)], **spec}}


# ---- the conversions --------------------------------------------------------------

STORED = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "default", "labels": {"a": "b"}},
    "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 3,
             "metrics": [cpu(60), MEMORY],
             "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}},
    "status": {"currentReplicas": 2, "desiredReplicas": 2,
               "currentMetrics": [{"type": "Resource", "resource": {
                   "name": "cpu", "current": {"averageUtilization": 12}}}],
               "conditions": [{"type": "AbleToScale", "status": "True"}]},
}


def test_v2_to_v1_has_the_cpu_target_and_the_rest_in_annotations_as_kubernetes():
    v1 = hpa.v2_to_v1(STORED)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 3,
                          "targetCPUUtilizationPercentage": 60}
    assert v1["status"] == {"currentReplicas": 2, "desiredReplicas": 2,
                            "currentCPUUtilizationPercentage": 12}
    notes = v1["metadata"]["annotations"]
    assert set(notes) == {hpa.METRICS, hpa.BEHAVIOR, hpa.CONDITIONS}
    # other metrics in v1's MetricSpec shape
    assert notes[hpa.METRICS] == \
        '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]'
    assert STORED["spec"]["metrics"] == [cpu(60), MEMORY]  # the input is left alone


def test_a_round_trip_through_v1_keeps_every_v2_field():
    assert hpa.v1_to_v2(hpa.v2_to_v1(STORED)) == STORED
    only_cpu = copy.deepcopy(STORED)
    only_cpu["spec"]["metrics"] = [cpu(60)]
    del only_cpu["spec"]["behavior"], only_cpu["status"]["conditions"]
    v1 = hpa.v2_to_v1(only_cpu)
    assert "annotations" not in v1["metadata"]
    assert hpa.v1_to_v2(v1) == only_cpu


def test_v1_without_a_cpu_target_has_no_metrics_and_partial_objects_convert():
    assert "metrics" not in hpa.v1_to_v2(v1_hpa(percent=None))["spec"]
    assert hpa.v1_to_v2({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                         "metadata": {"name": "x"}}) == {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}}
    # a v2 memory target in AverageValue comes back from v1's shape
    v1 = v1_hpa()
    v1["metadata"]["annotations"] = {hpa.METRICS: '[{"type":"Resource","resource":'
                                                  '{"name":"memory","targetAverageUtilization":70}}]'}
    assert hpa.v1_to_v2(v1)["spec"]["metrics"] == [cpu(50), {
        "type": "Resource", "resource": {"name": "memory", "target": {
            "type": "Utilization", "averageUtilization": 70}}}]


# ---- the API ------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def test_discovery_lists_both_versions_and_prefers_v2(api):
    group = api.get("/apis/autoscaling").json
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    names = [r["name"] for r in api.get("/apis/autoscaling/v1").json["resources"]]
    assert names == ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]


def test_created_at_v1_is_stored_as_v2_and_read_at_both(api):
    r = api.post(V1, v1_hpa())
    assert r.status_code == 201, r.json
    assert r.json["apiVersion"] == "autoscaling/v1"
    assert r.json["spec"]["targetCPUUtilizationPercentage"] == 50
    stored = api.objects.get("HorizontalPodAutoscaler", "default", "web")
    assert stored["apiVersion"] == "autoscaling/v2" and stored["spec"]["metrics"] == [cpu(50)]
    assert api.get(f"{V2}/web").json["spec"]["metrics"] == [cpu(50)]
    got = api.get(f"{V1}/web").json
    assert got["apiVersion"] == "autoscaling/v1" and "metrics" not in got["spec"]
    listed = api.get(V1).json
    assert listed["apiVersion"] == "autoscaling/v1"
    assert [i["spec"]["targetCPUUtilizationPercentage"] for i in listed["items"]] == [50]
    # from the watch cache as well
    listed = api.get(V1, query={"resourceVersion": "0"}).json
    assert listed["items"][0]["apiVersion"] == "autoscaling/v1"
    # kubectl get: the cells read the stored object, the row carries the v1 one
    r = api.client.get(V1 + "?includeObject=Object", headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    row = r.json["rows"][0]
    assert "cpu: <unknown>/50%" in row["cells"]
    assert row["object"]["apiVersion"] == "autoscaling/v1"


def test_a_v1_body_must_say_v1(api):
    body = v1_hpa()
    body["apiVersion"] = "autoscaling/v2"
    r = api.post(V1, body)
    assert r.status_code == 400 and "autoscaling/v1" in r.json["message"]
    assert api.objects.list("HorizontalPodAutoscaler", "default").items == []


def test_v1_update_and_patch_keep_the_v2_only_fields(api):
    assert api.post(V2, v2_hpa(metrics=[cpu(50), MEMORY],
                               behavior={"scaleUp": {"stabilizationWindowSeconds": 5}})
                    ).status_code == 201
    got = api.get(f"{V1}/web").json
    got["spec"]["targetCPUUtilizationPercentage"] = 70
    r = api.put(f"{V1}/web", got)
    assert r.status_code == 200, r.json
    spec = api.get(f"{V2}/web").json["spec"]
    assert spec["metrics"] == [cpu(70), MEMORY]
    assert spec["behavior"] == {"scaleUp": {"stabilizationWindowSeconds": 5}}
    r = api.patch(f"{V1}/web", {"spec": {"targetCPUUtilizationPercentage": 80, "maxReplicas": 5}})
    assert r.status_code == 200 and r.json["spec"]["targetCPUUtilizationPercentage"] == 80
    spec = api.get(f"{V2}/web").json["spec"]
    assert spec["metrics"] == [cpu(80), MEMORY] and spec["maxReplicas"] == 5
    r = api.patch(f"{V1}/web", {"spec": {"targetCPUUtilizationPercentage": 40}},
                  content_type="application/strategic-merge-patch+json")
    assert r.status_code == 200 and api.get(f"{V2}/web").json["spec"]["metrics"][0] == cpu(40)
    # an invalid value is reported; nothing changes
    r = api.patch(f"{V1}/web", {"spec": {"targetCPUUtilizationPercentage": 0}})
    assert r.status_code == 422
    assert api.get(f"{V2}/web").json["spec"]["metrics"][0] == cpu(40)


def test_v1_status_shows_the_current_cpu(api):
    api.post(V2, v2_hpa())
    cur = api.get(f"{V2}/web").json
    cur["status"] = {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 33}}}]}
    assert api.put(f"{V2}/web/status", cur).status_code == 200
    assert api.get(f"{V1}/web/status").json["status"]["currentCPUUtilizationPercentage"] == 33


def test_server_side_apply_and_delete_at_v1(api):
    body = v1_hpa()
    r = api.patch(f"{V1}/web", body, content_type="application/apply-patch+yaml",
                  query={"fieldManager": "me"})
    assert r.status_code == 201, r.json
    assert r.json["apiVersion"] == "autoscaling/v1"
    assert api.get(f"{V2}/web").json["spec"]["metrics"] == [cpu(50)]
    r = api.delete(f"{V1}/web")
    assert r.status_code == 200
    assert api.get(f"{V2}/web").status_code == 404


def test_watch_at_v1_gets_v1_objects(api):
    api.post(V2, v2_hpa())
    rv = api.get(V2).json["metadata"]["resourceVersion"]
    api.patch(f"{V2}/web", {"spec": {"maxReplicas": 4}})
    v1_events = api.watch(V1, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["spec"]["maxReplicas"],
             e["object"]["spec"]["targetCPUUtilizationPercentage"]) for e in v1_events] == [
        ("MODIFIED", "autoscaling/v1", 4, 50)]
    v2_events = api.watch(V2, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["object"]["apiVersion"] for e in v2_events] == ["autoscaling/v2"]
