"""fieldValidation=Strict|Warn|Ignore against the kinds' schemas."""

from __future__ import annotations

import pytest

from coxapi import kinds, schema

from .api_harness import Api, deployment, pod

POD = "/api/v1/namespaces/default/pods"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
TYPO = "spec.template.spec.containers[0].imagePulPolicy"


@pytest.fixture
def api() -> Api:
    return Api()


def typo_deployment() -> dict:
    d = deployment("web")
    d["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    return d


def test_strict_rejects_an_unknown_field_naming_it_and_stores_nothing(api):
    rev = api.store.revision()
    r = api.post(DEPLOY, typo_deployment(), query={"fieldValidation": "Strict"})
    assert r.status_code == 400 and r.json["reason"] == "BadRequest"
    assert f'unknown field "{TYPO}"' in r.json["message"]
    assert r.json["message"].startswith('Deployment in version "v1" cannot be handled')
    assert api.store.revision() == rev


def test_warn_is_the_default_and_ignore_says_nothing(api):
    r = api.post(DEPLOY, typo_deployment())
    assert r.status_code == 201
    assert r.headers.getlist("Warning") == [f'299 - "unknown field \\"{TYPO}\\""']
    r = api.post(POD, {**pod("p"), "extra": 1}, query={"fieldValidation": "Ignore"})
    assert r.status_code == 201 and "Warning" not in r.headers
    r = api.post(POD, pod("q"), query={"fieldValidation": "Strict"})
    assert r.status_code == 201 and "Warning" not in r.headers


def test_an_unknown_mode_is_400(api):
    r = api.post(POD, pod("p"), query={"fieldValidation": "Loud"})
    assert r.status_code == 400 and "fieldValidation" in r.json["message"]


def test_update_and_patch_are_checked_too(api):
    api.post(DEPLOY, deployment("web"))
    cur = api.get(f"{DEPLOY}/web").json
    cur["spec"]["replicaz"] = 3
    r = api.put(f"{DEPLOY}/web", cur, query={"fieldValidation": "Strict"})
    assert r.status_code == 400 and 'unknown field "spec.replicaz"' in r.json["message"]
    r = api.patch(f"{DEPLOY}/web", {"spec": {"paused": True, "pausd": True}},
                  query={"fieldValidation": "Strict"})
    assert r.status_code == 400 and 'unknown field "spec.pausd"' in r.json["message"]
    r = api.patch(f"{DEPLOY}/web", {"spec": {"paused": True}},
                  query={"fieldValidation": "Strict"})
    assert r.status_code == 200


def test_a_patch_is_judged_on_what_it_brings(api):
    # An unknown field stored earlier (under Warn) does not fail later strict patches.
    api.post(DEPLOY, typo_deployment())
    r = api.patch(f"{DEPLOY}/web", {"spec": {"replicas": 3}}, query={"fieldValidation": "Strict"})
    assert r.status_code == 200 and "Warning" not in r.headers


def test_open_subtrees_and_maps_accept_any_keys():
    pod_kind = kinds.lookup("Pod")
    p = pod("p", affinity={"nodeAffinity": {"anything": [1]}})
    p["metadata"]["labels"] = {"any-key": "v"}
    p["spec"]["volumes"] = [{"name": "v", "emptyDir": {"medium": "Memory"}}]
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "nvidia.com/gpu": 1}}
    assert schema.unknown_fields(pod_kind, p) == []
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80, "prot": "x"}]
    p["status"] = {"phase": "Running", "hostIPs": [{"ip": "1.2.3.4", "x": 1}]}
    assert schema.unknown_fields(pod_kind, p) == ["spec.containers[0].ports[0].prot",
                                                  "status.hostIPs[0].x"]


def test_every_kind_has_a_schema():
    for k in kinds.KINDS:
        assert schema.definition_name(k) in schema.DEFINITIONS, k.kind
