"""Server-side apply (coxapi.ssa), pure: the fields a configuration owns in
FieldsV1 form, conflicts between managers, forcing, fields a manager stops
applying, and the merge into the live object."""

from __future__ import annotations

import pytest

from coxapi import ssa
from coxapi.kinds import lookup

DEPLOY = lookup("Deployment").strategy.patch_fields
CM = lookup("ConfigMap").strategy.patch_fields
NOW = "2026-12-01T12:00:00Z"


def deployment(replicas: int | None = 2, image: str = "web:1", **container) -> dict:
    spec: dict = {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                      "containers": [{"name": "app", "image": image, **container}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def apply(live, applied, manager="alice", force=False, meta=DEPLOY):
    return ssa.apply(live, applied, manager, meta, api_version="apps/v1", now=NOW, force=force)


def owned(obj: dict, manager: str) -> frozenset:
    """What ``manager`` owns (a manager left with nothing has no entry)."""
    entries = [e for e in ssa.read_managed(obj["metadata"]["managedFields"])
               if e.manager == manager]
    assert len(entries) <= 1
    return entries[0].fields if entries else frozenset()


def test_the_fields_of_a_configuration_in_fields_v1():
    obj = apply(None, deployment(ports=[{"containerPort": 80}]))
    (entry,) = obj["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "fieldsType")} \
        == {"manager": "alice", "operation": "Apply", "apiVersion": "apps/v1", "time": NOW,
            "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {"f:spec": {
        "f:replicas": {},
        "f:selector": {"f:matchLabels": {"f:app": {}}},
        "f:template": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:containers": {
            'k:{"name":"app"}': {".": {}, "f:name": {}, "f:image": {}, "f:ports": {
                'k:{"containerPort":80}': {".": {}, "f:containerPort": {}}}}}}}}}
    # name, namespace, apiVersion and kind belong to no manager
    assert ssa.from_fields_v1(entry["fieldsV1"]) == owned(obj, "alice")


def test_sets_and_atomic_lists():
    obj = {"metadata": {"finalizers": ["a", "b"]}, "spec": {"args": ["x", "y"]}}
    fields = ssa.field_set(obj, DEPLOY)
    assert fields == {("f:metadata", "f:finalizers", 'v:"a"'),
                      ("f:metadata", "f:finalizers", 'v:"b"'), ("f:spec", "f:args")}


def test_reapplying_is_idempotent_and_keeps_others_fields():
    live = apply(None, deployment())
    live["status"] = {"replicas": 2}
    again = apply(live, deployment())
    assert again == live | {"metadata": again["metadata"]}
    assert again["status"] == {"replicas": 2}


def test_another_manager_setting_a_different_value_conflicts():
    live = apply(None, deployment(replicas=2))
    with pytest.raises(ssa.ApplyConflict) as e:
        apply(live, {"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "web"}, "spec": {"replicas": 3}}, manager="bob")
    assert e.value.code == 409
    assert str(e.value).startswith(
        'Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas')
    assert e.value.details["causes"] == [{"reason": "FieldManagerConflict",
                                          "field": ".spec.replicas",
                                          "message": 'conflict with "alice" using apps/v1'}]


def test_the_same_value_is_shared_and_a_forced_value_moves():
    live = apply(None, deployment(replicas=2))
    shared = apply(live, {"spec": {"replicas": 2}}, manager="bob")
    assert ("f:spec", "f:replicas") in owned(shared, "alice") & owned(shared, "bob")
    forced = apply(shared, {"spec": {"replicas": 5, "paused": True}}, manager="carol",
                   force=True)
    assert forced["spec"]["replicas"] == 5
    assert ("f:spec", "f:replicas") not in owned(forced, "alice")
    assert not owned(forced, "bob")  # bob owned nothing else: his entry is gone
    assert owned(forced, "carol") == {("f:spec", "f:replicas"), ("f:spec", "f:paused")}


def test_a_conflict_names_the_container_by_its_key():
    live = apply(None, deployment(image="web:1"))
    with pytest.raises(ssa.ApplyConflict, match=r'\.spec\.template\.spec\.containers'
                                                r'\[name="app"\]\.image'):
        apply(live, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "web:2"}]}}}}, manager="bob")


def test_a_field_no_longer_applied_is_removed_unless_someone_else_owns_it():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"a": "1", "b": "2", "c": "3"}}
    live = apply(None, cm, meta=CM)
    live = apply(live, {"data": {"c": "3"}}, manager="bob", meta=CM)  # bob shares c
    out = apply(live, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"a": "1"}}, meta=CM)
    assert out["data"] == {"a": "1", "c": "3"}
    assert owned(out, "alice") == {("f:data", "f:a")}


def test_keyed_lists_merge_by_element_and_others_elements_stay():
    live = apply(None, deployment(ports=[{"containerPort": 80}]))
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    sidecar = {"spec": {"template": {"spec": {"containers": [
        {"name": "log", "image": "log:1"}]}}}}
    both = apply(live, sidecar, manager="bob")
    log, app = both["spec"]["template"]["spec"]["containers"]  # the applied ones first
    assert app["ports"] == [{"containerPort": 80}] and app["resources"]  # not alice's: kept
    assert log == {"name": "log", "image": "log:1"}
    # alice drops her port: removed; bob's container stays
    out = apply(both, deployment())
    app, log = out["spec"]["template"]["spec"]["containers"]
    assert "ports" not in app and log["name"] == "log"
    assert app["resources"]  # nobody's: stays


def test_a_dropped_element_goes_unless_another_manager_owns_part_of_it():
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "log", "image": "log:1"})
    live = apply(None, two)
    out = apply(live, deployment())
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app"]
    shared = apply(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "log", "image": "log:1"}]}}}}, manager="bob")
    out = apply(shared, deployment())
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app", "log"]


def test_nulls_in_a_configuration_are_no_fields():
    obj = apply(None, {"spec": {"replicas": None, "paused": True}})
    assert obj["spec"] == {"paused": True}


@pytest.mark.parametrize("paths", [
    set(),
    {("f:a",), ("f:b", "f:c"), ("f:l", 'k:{"name":"x"}'), ("f:l", 'k:{"name":"x"}', "f:y")},
])
def test_fields_v1_round_trips(paths):
    assert ssa.from_fields_v1(ssa.to_fields_v1(paths)) == paths


def update(old, new, manager="bob"):
    return ssa.record_update(old, new, manager, DEPLOY, api_version="apps/v1", now=NOW)


def test_an_update_takes_the_fields_it_changes_and_only_those():
    live = apply(None, deployment(image="web:1", ports=[{"containerPort": 80}]))
    assert update(deployment(), deployment(replicas=3)) is None  # nothing applied: untracked
    assert update(live, live) == live["metadata"]["managedFields"]

    new = apply(None, deployment(image="web:2", ports=[{"containerPort": 80}]))
    new["metadata"] = live["metadata"]
    out = {**new, "metadata": {"managedFields": update(live, new)}}
    image = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"app"}', "f:image")
    assert owned(out, "bob") == {image}  # the element itself stays alice's
    assert image not in owned(out, "alice")
    assert ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"app"}') \
        in owned(out, "alice")

    gone = deployment(image="web:1")  # the port removed by bob
    out = {**gone, "metadata": {"managedFields": update(live, gone)}}
    assert not any("f:ports" in p for p in owned(out, "alice") | owned(out, "bob"))
