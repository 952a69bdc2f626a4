"""Integer and quantity ranges, as Kubernetes checks them (issue 9, item 2):
int32 fields refuse values past 2^31-1, int64 ones past 2^63-1, and
quantities past Kubernetes' range — a 422 naming the field, nothing stored."""

from __future__ import annotations

import pytest

from coxapi import quantity
from coxapi.defaults import apply_defaults
from coxapi.validation import errors_of

from .api_harness import Api, deployment

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _pod(**spec) -> dict:
    base = {"containers": [{"name": "app", "image": "busybox:1.36"}], **spec}
    return apply_defaults({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "p", "namespace": "default"}, "spec": base})


def _container(**c) -> dict:
    return _pod(containers=[{"name": "app", "image": "busybox:1.36", **c}])


def _workload(kind: str, **spec) -> dict:
    d = deployment("web")
    d["metadata"]["namespace"] = "default"
    if kind == "ReplicaSet":
        d["kind"] = "ReplicaSet"
    d["spec"].update(spec)
    return apply_defaults(d)


def _fields(obj: dict) -> list[str]:
    return [f for f, _ in errors_of(obj)]


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet"])
@pytest.mark.parametrize("replicas", [INT32_MAX + 1, 10**9 * 10**21, 10**30, -1])
def test_replicas_is_an_int32_at_least_zero(kind, replicas):
    assert "spec.replicas" in _fields(_workload(kind, replicas=replicas))


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet"])
def test_the_largest_int32_is_a_valid_count(kind):
    assert _fields(_workload(kind, replicas=INT32_MAX)) == []


@pytest.mark.parametrize("field,value", [
    ("minReadySeconds", INT32_MAX + 1),
    ("revisionHistoryLimit", INT32_MAX + 1),
    ("progressDeadlineSeconds", INT32_MAX + 1),
])
def test_other_int32_workload_fields_are_range_checked(field, value):
    assert f"spec.{field}" in _fields(_workload("Deployment", **{field: value}))


def test_rolling_update_counts_are_int32():
    d = _workload("Deployment", strategy={"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": INT32_MAX + 1}})
    assert "spec.strategy.rollingUpdate.maxSurge" in _fields(d)


def test_grace_period_is_an_int64():
    assert _fields(_pod(terminationGracePeriodSeconds=INT64_MAX)) == []
    assert "spec.terminationGracePeriodSeconds" in _fields(
        _pod(terminationGracePeriodSeconds=INT64_MAX + 1))
    assert "spec.activeDeadlineSeconds" in _fields(_pod(activeDeadlineSeconds=INT64_MAX + 1))


@pytest.mark.parametrize("key", ["initialDelaySeconds", "periodSeconds", "timeoutSeconds",
                                 "successThreshold", "failureThreshold"])
def test_probe_fields_are_int32(key):
    probe = {"tcpSocket": {"port": 80}, key: INT32_MAX + 1}
    assert f"spec.containers[0].livenessProbe.{key}" in _fields(_container(livenessProbe=probe))


@pytest.mark.parametrize("section,name,value", [
    ("requests", "cpu", "1e400"), ("limits", "cpu", "1e400"),
    ("requests", "memory", "99999999999999999999Ei"), ("limits", "memory", "1e19"),
    ("requests", "cpu", "9223372036854775807"),  # in millicores past the int64 range
    ("requests", "example.com/gpu", "1e400"),
])
def test_quantities_past_the_kubernetes_range_are_refused(section, name, value):
    c = _container(resources={section: {name: value}})
    assert f"spec.containers[0].resources.{section}.{name}" in _fields(c)


def test_quantities_within_range_are_taken():
    c = _container(resources={"requests": {"cpu": "9223372036854775", "memory": "7Ei"},
                              "limits": {"cpu": "9223372036854775", "memory": "7Ei"}})
    assert _fields(c) == []


def test_parse_refuses_a_huge_exponent_without_building_the_number():
    with pytest.raises(quantity.QuantityError):
        quantity.parse_memory("1e999999999")
    with pytest.raises(quantity.QuantityError):
        quantity.parse_cpu("1e999999999")


def test_the_api_answers_422_naming_the_field_and_stores_nothing():
    api = Api()
    try:
        r = api.post("/apis/apps/v1/namespaces/default/deployments",
                     deployment("huge", replicas=10**30))
        assert r.status_code == 422
        assert [c["field"] for c in r.json["details"]["causes"]] == ["spec.replicas"]
        assert api.get("/apis/apps/v1/namespaces/default/deployments/huge").status_code == 404
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
               "spec": {"containers": [{"name": "a", "image": "x:1",
                                        "resources": {"requests": {"cpu": "1e400"}}}]}}
        r = api.post("/api/v1/namespaces/default/pods", pod)
        assert r.status_code == 422
        assert r.json["details"]["causes"][0]["field"] == \
            "spec.containers[0].resources.requests.cpu"
    finally:
        api.close()


@pytest.mark.parametrize("replicas", [INT32_MAX + 1, 10**30])
def test_the_scale_subresource_refuses_counts_past_int32(replicas):
    api = Api()
    try:
        path = "/apis/apps/v1/namespaces/default/deployments"
        assert api.post(path, deployment("web", replicas=1)).status_code == 201
        r = api.patch(f"{path}/web/scale", {"spec": {"replicas": replicas}})
        assert r.status_code == 422, r.json
        assert r.json["details"]["causes"][0]["field"] == "spec.replicas"
        assert api.get(f"{path}/web").json["spec"]["replicas"] == 1
    finally:
        api.close()
