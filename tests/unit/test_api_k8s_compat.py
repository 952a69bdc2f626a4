"""Small things standard Kubernetes clients rely on: ``/version/`` and the
other trailing-slash variants, ``categories`` in discovery (``kubectl get
all``), and what a DELETE answers: a ``Status`` when the object is gone at
once, the object itself while it is only marked for deletion."""

from __future__ import annotations

import pytest

from .api_harness import Api, deployment, pod

POD = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def api() -> Api:
    a = Api()
    yield a
    a.close()


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version_answers_with_and_without_the_slash_and_without_a_token(api, path):
    r = api.get(path, token=None)
    assert r.status_code == 200 and r.json["gitVersion"].startswith("v1.")


@pytest.mark.parametrize("path, kind", [("/api/", "APIVersions"), ("/apis/", "APIGroupList"),
                                        ("/apis/apps/", "APIGroup"),
                                        ("/apis/apps/v1/", "APIResourceList")])
def test_discovery_answers_with_a_trailing_slash(api, path, kind):
    r = api.get(path)
    assert r.status_code == 200 and r.json["kind"] == kind


def test_the_kinds_kubectl_get_all_shows_are_in_the_all_category(api):
    in_all = set()
    for gv in ("/api/v1", "/apis/apps/v1"):
        for res in api.get(gv).json["resources"]:
            if "all" in res.get("categories", []):
                in_all.add(res["name"])
    assert in_all == {"pods", "services", "deployments", "replicasets"}


def test_a_delete_that_removes_the_object_answers_a_status(api):
    created = api.post(DEPLOYS, deployment("web")).json
    r = api.delete(f"{DEPLOYS}/web")
    assert r.status_code == 200
    assert r.json == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": "web", "group": "apps", "kind": "deployments",
                                  "uid": created["metadata"]["uid"]}}
    assert api.get(f"{DEPLOYS}/web").status_code == 404
    api.post(CONFIGMAPS, {"metadata": {"name": "c"}})
    r = api.delete(f"{CONFIGMAPS}/c")
    assert r.json["kind"] == "Status" and r.json["details"]["group"] == ""


def test_pods_and_services_answer_the_deleted_object_as_kubernetes_does(api):
    # Kubernetes' registries for these set ReturnDeletedObject: the Python
    # client decodes delete_namespaced_pod's answer as a V1Pod.
    api.post(POD, pod("unbound"))
    r = api.delete(f"{POD}/unbound")
    assert r.status_code == 200 and r.json["kind"] == "Pod"
    assert r.json["metadata"]["name"] == "unbound"


def test_a_delete_that_only_marks_the_object_answers_the_object(api):
    api.post(POD, pod("p", node="n1"))
    r = api.delete(f"{POD}/p")  # graceful: the node agent stops the containers first
    assert r.json["kind"] == "Pod" and r.json["metadata"]["deletionTimestamp"]
    api.post(DEPLOYS, deployment("fg"))
    r = api.delete(f"{DEPLOYS}/fg", {"propagationPolicy": "Foreground"})
    assert r.json["kind"] == "Deployment"
    assert r.json["metadata"]["finalizers"] == ["foregroundDeletion"]
