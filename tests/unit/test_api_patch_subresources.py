"""Merge patch, and the status and scale subresources."""

from __future__ import annotations

import pytest

from .api_harness import Api, deployment, pod


@pytest.fixture
def api() -> Api:
    return Api()

DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
POD = "/api/v1/namespaces/default/pods"


@pytest.mark.parametrize("ctype", ["application/merge-patch+json",
                                   "application/strategic-merge-patch+json"])
def test_merge_patch_merges_maps_and_deletes_nulls(api, ctype):
    api.post("/api/v1/namespaces/default/configmaps",
             {"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}})
    r = api.patch("/api/v1/namespaces/default/configmaps/c",
                  {"metadata": {"labels": {"b": None, "c": "3"}}, "data": {"y": "2"}},
                  content_type=ctype)
    assert r.status_code == 200, r.json
    assert r.json["metadata"]["labels"] == {"a": "1", "c": "3"}
    assert r.json["data"] == {"x": "1", "y": "2"}


def test_unsupported_patch_types_are_415(api):
    api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    r = api.patch("/api/v1/namespaces/default/configmaps/c", [{"op": "add"}],
                  content_type="application/apply-patch+cbor")
    assert r.status_code == 415 and r.json["kind"] == "Status"


def test_patch_with_a_stale_resource_version_is_a_conflict(api):
    c = api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}}).json
    api.patch("/api/v1/namespaces/default/configmaps/c", {"data": {"a": "1"}})
    r = api.patch("/api/v1/namespaces/default/configmaps/c",
                  {"metadata": {"resourceVersion": c["metadata"]["resourceVersion"]},
                   "data": {"a": "2"}})
    assert r.status_code == 409


def test_patch_results_are_validated(api):
    api.post(POD, pod("p"))
    r = api.patch(f"{POD}/p", {"spec": {"restartPolicy": "Sometimes"}})
    assert r.status_code == 422
    assert r.json["details"]["causes"][0]["field"] == "spec.restartPolicy"


def test_patch_of_immutable_pod_fields_is_refused_but_image_is_allowed(api):
    api.post(POD, pod("p"))
    r = api.patch(f"{POD}/p", {"spec": {"containers": [{"name": "app", "image": "busybox:1.37"}]}})
    assert r.status_code == 200
    r = api.patch(f"{POD}/p", {"spec": {"hostname": "other"}})
    assert r.status_code == 422


def test_status_subresource_changes_only_status(api):
    api.post(POD, pod("p", labels={"app": "web"}))
    cur = api.get(f"{POD}/p").json
    cur["status"] = {"phase": "Running", "podIP": "10.244.1.2"}
    cur["metadata"]["labels"] = {"app": "hacked"}
    cur["spec"]["containers"][0]["image"] = "other:1"
    r = api.put(f"{POD}/p/status", cur)
    assert r.status_code == 200, r.json
    assert r.json["status"]["phase"] == "Running"
    assert r.json["metadata"]["labels"] == {"app": "web"}
    assert r.json["spec"]["containers"][0]["image"] == "busybox:1.36"


def test_main_resource_update_ignores_status(api):
    api.post(POD, pod("p"))
    cur = api.get(f"{POD}/p").json
    cur["status"] = {"phase": "Succeeded"}
    r = api.put(f"{POD}/p", cur)
    assert r.status_code == 200 and r.json["status"]["phase"] == "Pending"


def test_status_patch(api):
    api.post(DEPLOY, deployment("web"))
    r = api.patch(f"{DEPLOY}/web/status", {"status": {"readyReplicas": 2, "replicas": 2}})
    assert r.status_code == 200 and r.json["status"]["readyReplicas"] == 2
    assert api.get(f"{DEPLOY}/web/status").json["status"]["replicas"] == 2


def test_status_set_on_create_is_dropped_for_system_owned_status(api):
    body = pod("p")
    body["status"] = {"phase": "Running"}
    assert api.post(POD, body).json["status"]["phase"] == "Pending"


@pytest.mark.parametrize("kind_path", [DEPLOY, "/apis/apps/v1/namespaces/default/replicasets"])
def test_scale_subresource_get_put_patch(api, kind_path):
    body = deployment("web", replicas=2)
    if "replicasets" in kind_path:
        body["kind"] = "ReplicaSet"
    assert api.post(kind_path, body).status_code == 201
    s = api.get(f"{kind_path}/web/scale").json
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1"
    assert s["spec"]["replicas"] == 2 and s["status"]["selector"] == "app=web"
    s["spec"]["replicas"] = 5
    r = api.put(f"{kind_path}/web/scale", s)
    assert r.status_code == 200 and r.json["spec"]["replicas"] == 5
    assert api.get(f"{kind_path}/web").json["spec"]["replicas"] == 5
    r = api.patch(f"{kind_path}/web/scale", {"spec": {"replicas": 0}})
    assert r.status_code == 200 and api.get(f"{kind_path}/web").json["spec"]["replicas"] == 0
    stale = api.put(f"{kind_path}/web/scale", s)  # s carries an old resourceVersion
    assert stale.status_code == 409


def test_scale_to_a_negative_count_is_invalid(api):
    api.post(DEPLOY, deployment("web"))
    r = api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": -1}})
    assert r.status_code == 422
    assert r.json["details"]["causes"][0]["field"] == "spec.replicas"


def test_scale_is_not_a_subresource_of_pods(api):
    api.post(POD, pod("p"))
    assert api.get(f"{POD}/p/scale").status_code == 404


def test_json_patch(api):
    api.post(POD, pod("p", labels={"app": "web"}))
    ops = [{"op": "add", "path": "/metadata/labels/tier", "value": "front"},
           {"op": "replace", "path": "/spec/containers/0/image", "value": "busybox:1.37"},
           {"op": "remove", "path": "/metadata/labels/app"}]
    r = api.patch(f"{POD}/p", ops, content_type="application/json-patch+json")
    assert r.status_code == 200, r.json
    assert r.json["metadata"]["labels"] == {"tier": "front"}
    assert r.json["spec"]["containers"][0]["image"] == "busybox:1.37"


def test_json_patch_failures(api):
    api.post(POD, pod("p"))
    r = api.patch(f"{POD}/p", [{"op": "test", "path": "/spec/restartPolicy", "value": "Never"}],
                  content_type="application/json-patch+json")
    assert r.status_code == 422
    r = api.patch(f"{POD}/p", [{"op": "remove", "path": "/metadata/nothing"}],
                  content_type="application/json-patch+json")
    assert r.status_code == 422
    r = api.patch(f"{POD}/p", {"op": "add"}, content_type="application/json-patch+json")
    assert r.status_code == 400
    r = api.patch(f"{POD}/p", [{"op": "jump", "path": "/x"}],
                  content_type="application/json-patch+json")
    assert r.status_code == 400


def test_json_patch_on_scale(api):
    api.post(DEPLOY, deployment("web"))
    r = api.patch(f"{DEPLOY}/web/scale", [{"op": "replace", "path": "/spec/replicas", "value": 4}],
                  content_type="application/json-patch+json")
    assert r.status_code == 200 and r.json["spec"]["replicas"] == 4


def test_secret_string_data_is_merged_into_base64_data(api):
    r = api.post("/api/v1/namespaces/default/secrets",
                 {"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hunter2"}})
    assert r.status_code == 201
    assert r.json["data"] == {"a": "eA==", "b": "aHVudGVyMg=="} and "stringData" not in r.json
    assert r.json["type"] == "Opaque"
    r = api.post("/api/v1/namespaces/default/secrets",
                 {"metadata": {"name": "bad"}, "data": {"a": "not base64!"}})
    assert r.status_code == 422 and r.json["details"]["causes"][0]["field"] == "data[a]"


def test_service_update_without_allocated_values_keeps_them(api):
    svc = {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"},
                                                "ports": [{"port": 80}]}}
    api.post("/api/v1/namespaces/default/services", svc)
    api.patch("/api/v1/namespaces/default/services/web",
              {"spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "nodePort": 30080}]}})
    r = api.put("/api/v1/namespaces/default/services/web", svc)  # as from a manifest
    assert r.status_code == 200, r.json
    assert r.json["spec"]["clusterIP"] == "10.96.0.10"
    assert r.json["spec"]["ports"][0]["nodePort"] == 30080
    r = api.patch("/api/v1/namespaces/default/services/web", {"spec": {"clusterIP": "10.96.0.11"}})
    assert r.status_code == 422
