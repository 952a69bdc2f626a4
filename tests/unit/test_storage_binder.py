"""Binding decisions (master/storage/binder.py), the local-path volume and the
validation of PVs, claims and classes."""

from __future__ import annotations

import pytest

from coxapi import errors
from coxapi.validation import validate
from master.controllers.testing import node
from master.storage import binder, localpath


def claim(size="1Gi", modes=("ReadWriteOnce",), cls=None, selector=None, uid="u1", **spec):
    s = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        s["storageClassName"] = cls
    if selector is not None:
        s["selector"] = selector
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default", "uid": uid}, "spec": s}


def pv(name, size="1Gi", modes=("ReadWriteOnce",), cls="", labels=None, ref=None,
       on_node=None, phase="Available"):
    spec = {"capacity": {"storage": size}, "accessModes": list(modes),
            "hostPath": {"path": f"/data/{name}"}}
    if cls:
        spec["storageClassName"] = cls
    if ref:
        spec["claimRef"] = ref
    if on_node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [on_node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"phase": phase}}


def test_smallest_volume_that_is_big_enough_wins():
    pvs = [pv("big", "10Gi"), pv("small", "500Mi"), pv("fit", "2Gi")]
    assert binder.best_volume(claim("1Gi"), pvs)["metadata"]["name"] == "fit"
    assert binder.best_volume(claim("20Gi"), pvs) is None


def test_access_modes_must_all_be_offered():
    pvs = [pv("rwo", "1Gi"), pv("both", "5Gi", modes=("ReadWriteOnce", "ReadOnlyMany"))]
    got = binder.best_volume(claim(modes=("ReadWriteOnce", "ReadOnlyMany")), pvs)
    assert got["metadata"]["name"] == "both"
    assert binder.best_volume(claim(modes=("ReadWriteMany",)), pvs) is None


def test_class_must_match_and_no_class_means_the_default():
    pvs = [pv("fast", cls="fast"), pv("plain")]
    assert binder.best_volume(claim(cls="fast"), pvs)["metadata"]["name"] == "fast"
    assert binder.best_volume(claim(cls=""), pvs)["metadata"]["name"] == "plain"
    assert binder.best_volume(claim(), pvs, default_class="fast")["metadata"]["name"] == "fast"
    assert binder.best_volume(claim(), pvs)["metadata"]["name"] == "plain"


def test_selector_and_node_affinity():
    pvs = [pv("a", labels={"tier": "gold"}, on_node="n1"), pv("b", on_node="n2")]
    sel = {"matchLabels": {"tier": "gold"}}
    assert binder.best_volume(claim(selector=sel), pvs)["metadata"]["name"] == "a"
    assert binder.best_volume(claim(), pvs, node=node("n2"))["metadata"]["name"] == "b"
    assert binder.best_volume(claim(selector=sel), pvs, node=node("n2")) is None
    assert binder.node_admits(pv("c"), node("n9"))


def test_a_volume_of_another_claim_or_released_is_never_taken():
    mine = {"namespace": "default", "name": "data", "uid": "u1"}
    other = {"namespace": "default", "name": "other", "uid": "u2"}
    stale = {"namespace": "default", "name": "data", "uid": "old"}
    assert binder.best_volume(claim(), [pv("x", ref=other)]) is None
    assert binder.best_volume(claim(), [pv("x", ref=stale)]) is None
    assert binder.best_volume(claim(), [pv("x", phase="Released")]) is None
    # pre-bound to this claim: preferred to a smaller free one
    pvs = [pv("free", "1Gi"), pv("mine", "5Gi", ref=mine)]
    assert binder.best_volume(claim(), pvs)["metadata"]["name"] == "mine"
    # a claim naming its volume gets that one or none
    assert binder.best_volume(claim(volumeName="free"), pvs)["metadata"]["name"] == "free"
    assert binder.best_volume(claim(volumeName="gone"), pvs) is None


def test_default_class_is_the_annotated_one():
    plain = {"metadata": {"name": "plain", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    assert binder.default_class_name([plain]) is None
    assert binder.default_class_name([plain, localpath.default_class()]) == "local-path"


def test_local_path_volume_is_prebound_with_node_affinity():
    n = node("n1")
    n["metadata"]["annotations"] = {localpath.LOCAL_PATH_ROOT: "/var/lib/cox/local-path"}
    c = claim("2Gi", cls="local-path")
    vol = localpath.new_volume(c, localpath.default_class(), n)
    assert vol["metadata"]["name"] == "pvc-u1"
    assert vol["spec"]["local"]["path"] == "/var/lib/cox/local-path/pvc-u1"
    assert vol["spec"]["capacity"] == {"storage": "2Gi"}
    assert vol["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert vol["spec"]["claimRef"]["uid"] == "u1"
    assert binder.node_admits(vol, n) and not binder.node_admits(vol, node("n2"))
    assert binder.best_volume(c, [vol], node=n) is vol
    assert localpath.new_volume(c, localpath.default_class(), node("n2")) is None  # no root
    validate(vol)  # a valid PV


@pytest.mark.parametrize("obj,field", [
    (claim(modes=()), "spec.accessModes"),
    (claim(modes=("ReadWriteSometimes",)), "spec.accessModes[0]"),
    (claim(size="lots"), "spec.resources.requests[storage]"),
    ({**pv("x"), "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}},
     "spec"),
    ({**pv("x"), "spec": {**pv("x")["spec"], "hostPath": {"path": "rel"}}}, "spec.hostPath.path"),
    ({**pv("x"), "spec": {**pv("x")["spec"], "persistentVolumeReclaimPolicy": "Recycle"}},
     "spec.persistentVolumeReclaimPolicy"),
    ({**pv("x"), "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         "local": {"path": "/d"}}}, "spec.nodeAffinity"),
    ({**localpath.default_class(), "volumeBindingMode": "Later"}, "volumeBindingMode"),
    ({**localpath.default_class(), "provisioner": ""}, "provisioner"),
])
def test_invalid_storage_objects_name_the_field(obj, field):
    with pytest.raises(errors.Invalid) as e:
        validate(obj)
    assert field in [c["field"] for c in e.value.details["causes"]]
