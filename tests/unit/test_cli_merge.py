"""The three-way merge of `cox apply`: what it patches, keeps and deletes."""

from __future__ import annotations

import json

from cli.commands import merge


def deploy(replicas: int = 2, image: str = "demo:1", **extra: object) -> dict:
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": image}]}}}}
    d["spec"].update(extra)
    return d


def live_of(manifest: dict) -> dict:
    """What the server would hold after applying: defaults filled in, status, server meta."""
    live = merge.with_last_applied(manifest)
    live["metadata"].update(uid="u1", resourceVersion="7", generation=1,
                            creationTimestamp="2026-01-01T00:00:00Z")
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    c = live["spec"]["template"]["spec"]["containers"][0]
    c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    live["status"] = {"replicas": 2}
    return live


def test_same_manifest_against_defaulted_live_object_is_unchanged() -> None:
    m = deploy()
    assert merge.apply_patch(merge.last_applied_of(live_of(m)), m, live_of(m)) == {}


def test_changed_field_is_patched_and_annotation_updated() -> None:
    live = live_of(deploy())
    new = deploy(replicas=5)
    patch = merge.apply_patch(merge.last_applied_of(live), new, live)
    assert patch["spec"] == {"replicas": 5}
    assert json.loads(patch["metadata"]["annotations"][merge.LAST_APPLIED])["spec"]["replicas"] == 5
    assert "status" not in patch and "strategy" not in patch["spec"]


def test_changed_list_item_replaces_the_list() -> None:
    live = live_of(deploy())
    patch = merge.apply_patch(merge.last_applied_of(live), deploy(image="demo:2"), live)
    assert patch["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "demo:2"}]


def test_field_dropped_from_the_manifest_is_deleted_but_others_fields_are_kept() -> None:
    before = deploy(minReadySeconds=5)
    live = live_of(before)
    live["metadata"]["labels"]["team"] = "ops"  # set by someone else: not ours to remove
    patch = merge.apply_patch(merge.last_applied_of(live), deploy(), live)
    assert patch["spec"] == {"minReadySeconds": None}
    assert "labels" not in patch.get("metadata", {})


def test_without_last_applied_only_the_annotation_is_added() -> None:
    live = live_of(deploy())
    del live["metadata"]["annotations"]
    patch = merge.apply_patch(None, deploy(), live)
    assert list(patch) == ["metadata"]
    assert not merge.changes_fields(patch)


def test_covers_treats_booleans_and_numbers_apart() -> None:
    assert merge.covers({"a": [1, {"b": True}]}, {"a": [1, {"b": True, "c": 2}]})
    assert not merge.covers({"a": 1}, {"a": True})
    assert not merge.covers([1], [1, 2])


# ---- Secrets: no values in clear in the last-applied annotation -----------

def _secret(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": dict(data)}


def test_a_secrets_last_applied_annotation_holds_no_value_in_clear():
    created = merge.with_last_applied(_secret(password="hunter2-marker"))
    text = created["metadata"]["annotations"][merge.LAST_APPLIED]
    assert "hunter2-marker" not in text
    assert '"password":"sha256:' in text


def test_applying_a_secret_again_compares_values_through_their_digests():
    first = {**_secret(), "data": {"password": "cDE=", "user": "dQ=="}}
    first.pop("stringData")
    live = merge.with_last_applied(first)
    last = merge.last_applied_of(live)
    assert merge.apply_patch(last, first, live) == {}
    changed = merge.apply_patch(last, {**first, "data": {"password": "cDI=", "user": "dQ=="}},
                                live)
    assert changed["data"] == {"password": "cDI="}
    dropped = merge.apply_patch(last, {**first, "data": {"password": "cDE="}}, live)
    assert dropped["data"] == {"user": None}
    assert "cDI=" not in dropped["metadata"]["annotations"][merge.LAST_APPLIED]
