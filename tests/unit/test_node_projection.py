"""Pure: the files of configMap, secret, downwardAPI and projected volumes."""

from __future__ import annotations

import base64

import pytest

from node.atomicwriter import FileProjection
from node.projection import MountError, payload

OBJECTS = {
    ("ConfigMap", "default", "cfg"): {"metadata": {"name": "cfg"},
                                      "data": {"a.conf": "A", "b.conf": "B"},
                                      "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}},
    ("Secret", "default", "creds"): {"metadata": {"name": "creds"},
                                     "data": {"user": base64.b64encode(b"admin").decode()}},
}


def resolve(kind, ns, name):
    return OBJECTS.get((kind, ns, name))


POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1",
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": 'say "hi"'}},
       "spec": {"containers": [{"name": "c", "image": "i", "resources": {
           "limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}]}}


def test_configmap_all_keys_with_default_mode():
    files = payload(POD, {"name": "v", "configMap": {"name": "cfg", "defaultMode": 0o600}},
                    resolve)
    assert files == {"a.conf": FileProjection(b"A", 0o600), "b.conf": FileProjection(b"B", 0o600),
                     "bin": FileProjection(b"\x00\x01", 0o600)}


def test_items_pick_keys_paths_and_modes():
    vol = {"name": "v", "configMap": {"name": "cfg", "items": [
        {"key": "a.conf", "path": "conf/app.conf", "mode": 0o400}]}}
    assert payload(POD, vol, resolve) == {"conf/app.conf": FileProjection(b"A", 0o400)}


def test_missing_key_in_items_fails_unless_optional():
    vol = {"name": "v", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "x"}]}}
    with pytest.raises(MountError, match='configmap "cfg" has no key "nope"'):
        payload(POD, vol, resolve)
    vol["configMap"]["optional"] = True
    assert payload(POD, vol, resolve) == {}


def test_missing_source_names_it_unless_optional():
    with pytest.raises(MountError, match='secret "absent" not found'):
        payload(POD, {"name": "v", "secret": {"secretName": "absent"}}, resolve)
    assert payload(POD, {"name": "v", "secret": {"secretName": "absent", "optional": True}},
                   resolve) == {}


def test_secret_values_are_decoded():
    files = payload(POD, {"name": "v", "secret": {"secretName": "creds"}}, resolve)
    assert files == {"user": FileProjection(b"admin", 0o644)}


def test_downward_api_fields_labels_annotations_and_resources():
    vol = {"name": "v", "downwardAPI": {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory",
                                             "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu",
                                             "divisor": "1m"}},
        {"path": "cpulimit", "resourceFieldRef": {"containerName": "c",
                                                  "resource": "limits.cpu"}},
    ]}}
    files = {k: v.data.decode() for k, v in payload(POD, vol, resolve, {"cpu": "4"}).items()}
    assert files == {"name": "web", "ns": "default", "labels": 'app="web"\ntier="front"',
                     "annotations": 'note="say \\"hi\\""', "app": "web", "mem": "64",
                     "cpu": "250", "cpulimit": "4"}


def test_resource_of_unknown_container_fails():
    vol = {"name": "v", "downwardAPI": {"items": [
        {"path": "x", "resourceFieldRef": {"containerName": "nope", "resource": "limits.cpu"}}]}}
    with pytest.raises(MountError, match="nope"):
        payload(POD, vol, resolve)


def test_projected_merges_sources_with_its_default_mode():
    vol = {"name": "v", "projected": {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "a.conf", "path": "a"}]}},
        {"secret": {"name": "creds"}},
        {"downwardAPI": {"items": [{"path": "pod", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"secret": {"name": "absent", "optional": True}},
    ]}}
    assert payload(POD, vol, resolve) == {"a": FileProjection(b"A", 0o440),
                                          "user": FileProjection(b"admin", 0o440),
                                          "pod": FileProjection(b"web", 0o440)}


def test_projected_missing_source_fails():
    vol = {"name": "v", "projected": {"sources": [{"configMap": {"name": "gone"}}]}}
    with pytest.raises(MountError, match='configmap "gone" not found'):
        payload(POD, vol, resolve)


def test_an_item_path_that_escapes_is_a_mount_error():
    vol = {"name": "v", "configMap": {"name": "cfg", "items": [{"key": "a.conf",
                                                                "path": "../etc/x"}]}}
    with pytest.raises(MountError, match=r"\.\."):
        payload(POD, vol, resolve)
