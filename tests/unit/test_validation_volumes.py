"""Validation of pod volumes and mounts: each problem names its field."""

from __future__ import annotations

import pytest

from coxapi.validation import errors_of

from .test_validation import fields_of, pod

C = {"name": "c", "image": "busybox"}


def with_volumes(volumes, mounts=None):
    return pod(containers=[dict(C, volumeMounts=mounts or [])], volumes=volumes)


def test_every_source_kind_passes():
    volumes = [
        {"name": "a", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "b", "hostPath": {"path": "/srv"}},
        {"name": "c", "configMap": {"name": "cfg", "items": [{"key": "k", "path": "d/f",
                                                              "mode": 0o400}],
                                    "defaultMode": 0o644, "optional": True}},
        {"name": "d", "secret": {"secretName": "s"}},
        {"name": "e", "downwardAPI": {"items": [
            {"path": "l", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
            {"path": "m", "resourceFieldRef": {"containerName": "c",
                                               "resource": "limits.memory", "divisor": "1Mi"}}]}},
        {"name": "f", "projected": {"sources": [{"configMap": {"name": "cfg"}},
                                                {"secret": {"name": "s"}}]}},
        {"name": "g", "persistentVolumeClaim": {"claimName": "data"}},
    ]
    mounts = [{"name": "c", "mountPath": "/etc/c", "subPath": "d/f"},
              {"name": "g", "mountPath": "/data"}]
    assert errors_of(with_volumes(volumes, mounts)) == []


@pytest.mark.parametrize("volume,field", [
    ({"name": "v"}, "spec.volumes[0]"),
    ({"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}, "spec.volumes[0]"),
    ({"name": "v", "emptyDir": {"medium": "Disk"}}, "spec.volumes[0].emptyDir.medium"),
    ({"name": "v", "emptyDir": {"sizeLimit": "lots"}}, "spec.volumes[0].emptyDir.sizeLimit"),
    ({"name": "v", "hostPath": {"path": "rel"}}, "spec.volumes[0].hostPath.path"),
    ({"name": "v", "configMap": {}}, "spec.volumes[0].configMap.name"),
    ({"name": "v", "secret": {"secretName": "s", "defaultMode": 0o1777}},
     "spec.volumes[0].secret.defaultMode"),
    ({"name": "v", "configMap": {"name": "c", "items": [{"key": "k", "path": "../x"}]}},
     "spec.volumes[0].configMap.items[0].path"),
    ({"name": "v", "configMap": {"name": "c", "items": [{"path": "x"}]}},
     "spec.volumes[0].configMap.items[0].key"),
    ({"name": "v", "downwardAPI": {"items": [{"path": "x",
                                             "fieldRef": {"fieldPath": "spec.nodeName"}}]}},
     "spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath"),
    ({"name": "v", "downwardAPI": {"items": [{"path": "x", "resourceFieldRef": {
        "containerName": "c", "resource": "limits.gpu"}}]}},
     "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.resource"),
    ({"name": "v", "projected": {"sources": [{}]}}, "spec.volumes[0].projected.sources[0]"),
    ({"name": "v", "persistentVolumeClaim": {}},
     "spec.volumes[0].persistentVolumeClaim.claimName"),
])
def test_invalid_volumes_name_the_field(volume, field):
    assert field in fields_of(with_volumes([volume]))


@pytest.mark.parametrize("mount,field", [
    ({"name": "ghost", "mountPath": "/x"}, "spec.containers[0].volumeMounts[0].name"),
    ({"name": "v"}, "spec.containers[0].volumeMounts[0].mountPath"),
    ({"name": "v", "mountPath": "rel"}, "spec.containers[0].volumeMounts[0].mountPath"),
    ({"name": "v", "mountPath": "/x", "subPath": "../etc"},
     "spec.containers[0].volumeMounts[0].subPath"),
])
def test_invalid_mounts_name_the_field(mount, field):
    assert field in fields_of(with_volumes([{"name": "v", "emptyDir": {}}], [mount]))
