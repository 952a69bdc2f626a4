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
    ]
    mounts = [{"name": "c", "mountPath": "/etc/c", "subPath": "d/f"},
]
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


# ---- StatefulSets ---------------------------------------------------------------


def sts(**spec):
    from coxapi.defaults import apply_defaults
    base = {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [C]}}}
    base.update(spec)
    return apply_defaults({"apiVersion": "apps/v1", "kind": "StatefulSet",
                           "metadata": {"name": "db", "namespace": "default"}, "spec": base})


def test_statefulset_defaults_and_a_valid_one_passes():
    obj = sts()
    spec = obj["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert errors_of(obj) == []


@pytest.mark.parametrize("spec,field", [
    ({"podManagementPolicy": "Random"}, "spec.podManagementPolicy"),
    ({"updateStrategy": {"type": "Sometimes"}}, "spec.updateStrategy.type"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}},
     "spec.updateStrategy.rollingUpdate.partition"),
    ({"serviceName": "Not_A_Label"}, "spec.serviceName"),
    ({"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]},
     "spec.volumeClaimTemplates[0].spec.accessModes"),
    ({"volumeClaimTemplates": [{"metadata": {"name": "Data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
     "spec.volumeClaimTemplates[0].metadata.name"),
])
def test_invalid_statefulsets_name_the_field(spec, field):
    assert field in fields_of(sts(**spec))


def test_only_some_statefulset_fields_may_change():
    from coxapi import errors
    from coxapi.validation import validate_update
    old = sts()
    new = sts(replicas=5, serviceName="other")
    with pytest.raises(errors.Invalid, match="spec.serviceName"):
        validate_update(old, new)
    validate_update(old, sts(replicas=5))


def test_statefulset_mounts_may_name_claim_templates():
    obj = sts(volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}]
    assert fields_of(obj) == []
    obj["spec"]["volumeClaimTemplates"] = []
    assert "spec.template.spec.containers[0].volumeMounts[0].name" in fields_of(obj)
