"""Server-side apply through the API (``application/apply-patch+yaml``):
create-or-update, managedFields per manager, 409 naming the conflicting
fields and manager unless forced, dry run, and the PatchOptions checks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from coxapi import ssa

from .api_harness import Api, deployment

APPLY = "application/apply-patch+yaml"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def apply(api: Api, path: str, obj: dict, manager: str = "alice", **query):
    # JSON, as kubectl sends it (JSON is YAML)
    return api.request("PATCH", path, raw=json.dumps(obj).encode(), content_type=APPLY,
                       query={"fieldManager": manager, **query})


def cm(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


def managers(obj: dict) -> dict[str, frozenset]:
    return {e.manager: e.fields for e in ssa.read_managed(obj["metadata"]["managedFields"])}


def test_apply_creates_then_updates(api):
    r = api.request("PATCH", f"{CMS}/c", content_type=APPLY, query={"fieldManager": "alice"},
                    raw=b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n")
    assert r.status_code == 201, r.json
    assert r.json["data"] == {"a": "1"} and r.json["metadata"]["uid"]
    (entry,) = r.json["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsV1"]) == \
        ("alice", "Apply", {"f:data": {"f:a": {}}})
    r = apply(api, f"{CMS}/c", cm(b="2"))
    assert r.status_code == 200 and r.json["data"] == {"b": "2"}  # a: no longer applied
    stored = api.get(f"{CMS}/c").json
    assert managers(stored) == {"alice": {("f:data", "f:b")}}


def test_a_second_manager_conflicts_unless_forced(api):
    apply(api, DEPLOYS + "/web", deployment("web", replicas=2))
    rev = api.store.revision()
    r = apply(api, DEPLOYS + "/web", {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "metadata": {"name": "web"}, "spec": {"replicas": 3}},
              manager="bob")
    assert r.status_code == 409 and r.json["reason"] == "Conflict"
    assert r.json["message"] == ('Apply failed with 1 conflict: conflict with "alice" using '
                                 'apps/v1: .spec.replicas')
    assert r.json["details"]["causes"][0]["field"] == ".spec.replicas"
    assert api.store.revision() == rev
    r = apply(api, DEPLOYS + "/web", {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "metadata": {"name": "web"}, "spec": {"replicas": 3}},
              manager="bob", force="true")
    assert r.status_code == 200 and r.json["spec"]["replicas"] == 3
    owners = managers(r.json)
    assert owners["bob"] == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in owners["alice"]
    # the template stayed alice's and is untouched
    assert r.json["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"


def test_managed_fields_survive_other_writes_and_cannot_be_forged(api):
    apply(api, f"{CMS}/c", cm(a="1"))
    cur = api.get(f"{CMS}/c").json
    forged = {**cur, "metadata": {**cur["metadata"], "labels": {"x": "y"}}}
    forged["metadata"]["managedFields"] = [{"manager": "mallory", "operation": "Apply",
                                            "fieldsType": "FieldsV1", "fieldsV1": {}}]
    r = api.put(f"{CMS}/c", forged, query={"fieldManager": "bob"})
    assert r.status_code == 200
    assert managers(r.json) == {"alice": {("f:data", "f:a")},
                                "bob": {("f:metadata", "f:labels", "f:x")}}


def test_dry_run_applies_nothing(api):
    rev = api.store.revision()
    r = apply(api, f"{CMS}/c", cm(a="1"), dryRun="All")
    assert r.status_code == 201 and r.json["metadata"]["managedFields"]
    assert api.store.revision() == rev and api.get(f"{CMS}/c").status_code == 404


@pytest.mark.parametrize("query, field, code", [
    ({"fieldManager": ""}, "fieldManager", 422),
    ({"fieldManager": "x" * 129}, "fieldManager", 422),
    ({"force": "maybe"}, "force", 400),
])
def test_apply_options_are_checked(api, query, field, code):
    r = api.request("PATCH", f"{CMS}/c", raw=b"apiVersion: v1\nkind: ConfigMap\n",
                    content_type=APPLY, query={"fieldManager": "m", **query})
    assert r.status_code == code and field in r.json["message"]
    assert api.get(f"{CMS}/c").status_code == 404


def test_force_belongs_to_apply_only(api):
    api.post(CMS, cm(a="1"))
    r = api.patch(f"{CMS}/c", {"data": {"b": "2"}}, query={"force": "true"})
    assert r.status_code == 422 and "force" in r.json["message"]


@pytest.mark.parametrize("body, text", [
    ({"metadata": {"name": "c"}, "data": {}}, "apiVersion must be set"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}, "does not match"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}, "does not match"),
])
def test_a_bad_configuration_is_400(api, body, text):
    r = apply(api, f"{CMS}/c", body)
    assert r.status_code == 400 and text in r.json["message"]
    assert api.get(f"{CMS}/c").status_code == 404


def test_unknown_fields_follow_field_validation(api):
    body = cm(a="1") | {"dta": {"x": "y"}}
    r = apply(api, f"{CMS}/c", body, fieldValidation="Strict")
    assert r.status_code == 400 and "dta" in r.json["message"]


def test_a_write_that_is_not_an_apply_takes_the_fields_it_changes(api):
    apply(api, DEPLOYS + "/web", deployment("web", replicas=2))
    r = api.patch(DEPLOYS + "/web/scale", {"spec": {"replicas": 4}},
                  query={"fieldManager": "scaler"})
    assert r.status_code == 200, r.json
    stored = api.get(DEPLOYS + "/web").json
    owners = managers(stored)
    assert owners["scaler"] == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in owners["alice"]
    (entry,) = [e for e in stored["metadata"]["managedFields"] if e["manager"] == "scaler"]
    assert entry["operation"] == "Update"
    # alice re-applying her old value now conflicts with the scaler
    r = apply(api, DEPLOYS + "/web", deployment("web", replicas=2))
    assert r.status_code == 409 and 'conflict with "scaler"' in r.json["message"]
    # a label added by a plain update is that writer's (its user agent's name)
    cur = api.get(DEPLOYS + "/web").json
    cur["metadata"]["labels"] = {"team": "a"}
    r = api.request("PUT", DEPLOYS + "/web", cur, query={"fieldManager": "editor"})
    assert managers(r.json)["editor"] == {("f:metadata", "f:labels", "f:team")}


def test_objects_no_one_applied_get_no_managed_fields(api):
    api.post(CMS, cm(a="1"))
    r = api.patch(f"{CMS}/c", {"data": {"a": "2"}})
    assert "managedFields" not in r.json["metadata"]
