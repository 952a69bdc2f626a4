"""PATCH with application/strategic-merge-patch+json through the API."""

from __future__ import annotations

import json

import pytest

from .api_harness import Api, deployment

SMP = "application/strategic-merge-patch+json"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
def api() -> Api:
    return Api()


def test_kubectl_set_image_keeps_the_rest_of_the_container(api):
    d = deployment("web")
    d["spec"]["template"]["spec"]["containers"][0].update(
        ports=[{"containerPort": 80}], resources={"limits": {"memory": "64Mi"}},
        imagePullPolicy="Always")
    api.post(DEPLOY, d)
    r = api.patch(f"{DEPLOY}/web", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}],
        "containers": [{"image": "web:2", "name": "app"}]}}}}, content_type=SMP)
    assert r.status_code == 200, r.json
    stored = api.get(f"{DEPLOY}/web").json
    (c,) = stored["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "web:2" and c["imagePullPolicy"] == "Always"
    assert c["ports"][0]["containerPort"] == 80
    assert c["resources"]["limits"] == {"memory": "64Mi"}
    assert "$" not in json.dumps(stored)
    assert stored["metadata"]["generation"] == 2


def test_a_patch_removing_an_env_entry(api):
    d = deployment("web")
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    api.post(DEPLOY, d)
    r = api.patch(f"{DEPLOY}/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "$setElementOrder/env": [{"name": "B"}],
         "env": [{"$patch": "delete", "name": "A"}]}]}}}}, content_type=SMP)
    assert r.status_code == 200, r.json
    assert r.json["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "B", "value": "2"}]


def test_a_bad_strategic_patch_is_refused_and_changes_nothing(api):
    api.post(DEPLOY, deployment("web"))
    before = api.get(f"{DEPLOY}/web").json
    r = api.patch(f"{DEPLOY}/web", {"spec": {"template": {"spec": {"containers": [
        {"image": "x"}]}}}}, content_type=SMP)
    assert r.status_code == 422 and "merge key" in r.json["message"]
    r = api.patch(f"{DEPLOY}/web", {"spec": {"$patch": "nope"}}, content_type=SMP)
    assert r.status_code == 400 and r.json["kind"] == "Status"
    assert api.get(f"{DEPLOY}/web").json == before


def test_strategic_patch_of_the_scale_subresource(api):
    api.post(DEPLOY, deployment("web"))
    r = api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": 5}}, content_type=SMP)
    assert r.status_code == 200 and r.json["spec"]["replicas"] == 5
