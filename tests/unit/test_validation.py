"""Validation and defaults of API objects (coxapi.validation, coxapi.defaults): pure."""

from __future__ import annotations

import copy

import pytest

from coxapi import errors
from coxapi.defaults import apply_defaults, image_pull_policy
from coxapi.validation import errors_of, validate, validate_update


def pod(**spec) -> dict:
    base = {"containers": [{"name": "app", "image": "busybox:1.36"}]}
    base.update(spec)
    return apply_defaults({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "web-1", "namespace": "default"}, "spec": base})


def fields_of(obj: dict) -> list[str]:
    return [f for f, _ in errors_of(obj)]


def deploy(**over) -> dict:
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default"},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}}
    d["spec"].update(over)
    return apply_defaults(d)


# ---- defaults ---------------------------------------------------------------


def test_pod_defaults_match_kubernetes():
    p = pod(containers=[{"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
                        {"name": "b", "image": "redis:7"}, {"name": "c", "image": "x:latest"}])
    spec = p["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert [c["imagePullPolicy"] for c in spec["containers"]] == ["Always", "IfNotPresent", "Always"]
    assert spec["containers"][0]["ports"][0]["protocol"] == "TCP"


@pytest.mark.parametrize("image,policy", [
    ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
    ("app@sha256:abcd", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(image, policy):
    assert image_pull_policy(image) == policy


def test_defaults_never_override_client_values():
    p = pod(restartPolicy="Never", terminationGracePeriodSeconds=5)
    assert p["spec"]["restartPolicy"] == "Never"
    assert p["spec"]["terminationGracePeriodSeconds"] == 5


def test_service_defaults_target_port_protocol_and_type():
    s = apply_defaults({"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                        "spec": {"ports": [{"port": 80}]}})
    assert s["spec"]["type"] == "ClusterIP"
    assert s["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}


def test_deployment_defaults():
    d = deploy()
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert "labels" not in d["metadata"]  # apps/v1 does not copy the template's labels


def test_requests_default_to_limits():
    p = pod(containers=[{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}])
    assert p["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1"}


# ---- pods -------------------------------------------------------------------


def test_a_valid_pod_passes():
    validate(pod())


@pytest.mark.parametrize("spec,field", [
    ({"containers": []}, "spec.containers"),
    ({"containers": [{"name": "app"}]}, "spec.containers[0].image"),
    ({"containers": [{"image": "x:1"}]}, "spec.containers[0].name"),
    ({"containers": [{"name": "Bad_Name", "image": "x:1"}]}, "spec.containers[0].name"),
    ({"containers": [{"name": "a", "image": "x:1"}, {"name": "a", "image": "y:1"}]},
     "spec.containers[1].name"),
    ({"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 0}]}]},
     "spec.containers[0].ports[0].containerPort"),
    ({"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 70000}]}]},
     "spec.containers[0].ports[0].containerPort"),
    ({"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 80,
                                                             "protocol": "ICMP"}]}]},
     "spec.containers[0].ports[0].protocol"),
    ({"restartPolicy": "Sometimes"}, "spec.restartPolicy"),
    ({"dnsPolicy": "Weird"}, "spec.dnsPolicy"),
    ({"terminationGracePeriodSeconds": -1}, "spec.terminationGracePeriodSeconds"),
    ({"containers": [{"name": "a", "image": "x:1", "livenessProbe": {}}]},
     "spec.containers[0].livenessProbe"),
    ({"containers": [{"name": "a", "image": "x:1",
                      "readinessProbe": {"httpGet": {"port": 99999}}}]},
     "spec.containers[0].readinessProbe.httpGet.port"),
    ({"containers": [{"name": "a", "image": "x:1",
                      "livenessProbe": {"exec": {"command": []}}}]},
     "spec.containers[0].livenessProbe.exec.command"),
    ({"containers": [{"name": "a", "image": "x:1",
                      "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 0}}]},
     "spec.containers[0].livenessProbe.periodSeconds"),
    ({"containers": [{"name": "a", "image": "x:1", "env": [{"name": "1BAD", "value": "x"}]}]},
     "spec.containers[0].env[0].name"),
    ({"tolerations": [{"key": "k", "operator": "Maybe"}]}, "spec.tolerations[0].operator"),
    ({"nodeSelector": {"disk": "ssd fast"}}, "spec.nodeSelector[disk]"),
])
def test_invalid_pod_specs_name_the_field(spec, field):
    p = pod(**spec)
    assert field in fields_of(p), errors_of(p)
    with pytest.raises(errors.Invalid) as exc:
        validate(p)
    assert exc.value.code == 422
    assert field in [c["field"] for c in exc.value.details["causes"]]


@pytest.mark.parametrize("resources,field", [
    ({"requests": {"cpu": "lots"}}, "spec.containers[0].resources.requests.cpu"),
    ({"limits": {"memory": "64Zi"}}, "spec.containers[0].resources.limits.memory"),
    ({"requests": {"cpu": "500m"}, "limits": {"cpu": "250m"}},
     "spec.containers[0].resources.requests.cpu"),
    ({"requests": {"memory": "128Mi"}, "limits": {"memory": "64Mi"}},
     "spec.containers[0].resources.requests.memory"),
])
def test_resource_quantities_are_parsed_and_limits_bound_requests(resources, field):
    p = pod(containers=[{"name": "a", "image": "x:1", "resources": resources}])
    assert field in fields_of(p)


def test_equal_quantities_in_different_units_are_fine():
    p = pod(containers=[{"name": "a", "image": "x:1",
                         "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"},
                                       "limits": {"cpu": "500m", "memory": "1024Mi"}}}])
    validate(p)


@pytest.mark.parametrize("name", ["Web", "-web", "web_1", "a" * 254, ""])
def test_pod_names_must_be_dns_subdomains(name):
    p = pod()
    p["metadata"]["name"] = name
    assert "metadata.name" in fields_of(p)


def test_pod_names_may_have_dots_but_service_names_may_not():
    p = pod()
    p["metadata"]["name"] = "web.v1"
    validate(p)
    svc = apply_defaults({"kind": "Service", "metadata": {"name": "web.v1", "namespace": "default"},
                          "spec": {"ports": [{"port": 80}]}})
    assert "metadata.name" in fields_of(svc)


@pytest.mark.parametrize("labels,field", [
    ({"bad key!": "x"}, "metadata.labels[bad key!]"),
    ({"app": "-x"}, "metadata.labels[app]"),
    ({"app": "x" * 64}, "metadata.labels[app]"),
    ({"app": 3}, "metadata.labels[app]"),
])
def test_label_keys_and_values_are_checked(labels, field):
    p = pod()
    p["metadata"]["labels"] = labels
    assert field in fields_of(p)


def test_namespace_is_required_for_namespaced_kinds_and_refused_for_cluster_ones():
    p = pod()
    del p["metadata"]["namespace"]
    assert "metadata.namespace" in fields_of(p)
    node = {"kind": "Node", "metadata": {"name": "n1", "namespace": "default"}}
    assert "metadata.namespace" in fields_of(node)


def test_several_problems_are_reported_together():
    p = pod(restartPolicy="x", containers=[{"name": "a"}])
    assert {"spec.restartPolicy", "spec.containers[0].image"} <= set(fields_of(p))


# ---- services and workloads -------------------------------------------------


def svc(**spec) -> dict:
    return apply_defaults({"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                           "spec": {"ports": [{"port": 80}], **spec}})


@pytest.mark.parametrize("spec,field", [
    ({"ports": []}, "spec.ports"),
    ({"ports": [{"port": 0}]}, "spec.ports[0].port"),
    ({"ports": [{"port": 80, "targetPort": 70000}]}, "spec.ports[0].targetPort"),
    ({"ports": [{"port": 80, "targetPort": "Not_A_Name"}]}, "spec.ports[0].targetPort"),
    ({"ports": [{"port": 80, "name": "a"}, {"port": 81}]}, "spec.ports[1].name"),
    ({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]}, "spec.ports[1]"),
    ({"type": "Magic"}, "spec.type"),
    ({"clusterIP": "10.96.0.300"}, "spec.clusterIP"),
    ({"ports": [{"port": 80, "nodePort": 30080}]}, "spec.ports[0].nodePort"),
])
def test_invalid_services_name_the_field(spec, field):
    assert field in fields_of(svc(**spec))


def test_valid_services_pass():
    validate(svc(type="NodePort", ports=[{"port": 80, "name": "http", "targetPort": "http",
                                          "nodePort": 30080}]))
    validate(svc(clusterIP="None"))


@pytest.mark.parametrize("over,field", [
    ({"selector": None}, "spec.selector"),
    ({"selector": {"matchLabels": {"app": "other"}}}, "spec.template.metadata.labels"),
    ({"replicas": -1}, "spec.replicas"),
    ({"strategy": {"type": "Blue"}}, "spec.strategy.type"),
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x"}}},
     "spec.strategy.rollingUpdate.maxSurge"),
    ({"strategy": {"type": "RollingUpdate",
                   "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
     "spec.strategy.rollingUpdate.maxUnavailable"),
    ({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     "spec.selector.matchExpressions[0].values"),
])
def test_invalid_deployments_name_the_field(over, field):
    d = deploy(**over)
    if over.get("selector", 1) is None:
        del d["spec"]["selector"]
    assert field in fields_of(d), errors_of(d)


def test_replicaset_template_must_restart_always():
    rs = deploy()
    rs["kind"] = "ReplicaSet"
    rs["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert "spec.template.spec.restartPolicy" in fields_of(rs)


def test_a_valid_deployment_passes():
    validate(deploy(replicas=0))


# ---- updates ------------------------------------------------------------------


def test_pod_image_may_change_but_other_container_fields_may_not():
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    validate_update(old, new)
    new["spec"]["containers"][0]["command"] = ["sh"]
    with pytest.raises(errors.Invalid) as exc:
        validate_update(old, new)
    assert exc.value.details["causes"][0]["field"] == "spec.containers"


def test_pod_tolerations_may_only_be_added():
    old = pod(tolerations=[{"key": "a", "operator": "Exists"}])
    grown = copy.deepcopy(old)
    grown["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    validate_update(old, grown)
    shrunk = copy.deepcopy(old)
    shrunk["spec"]["tolerations"] = []
    with pytest.raises(errors.Invalid):
        validate_update(old, shrunk)


def test_pod_node_name_is_set_once():
    old = pod()
    bound = copy.deepcopy(old)
    bound["spec"]["nodeName"] = "n1"
    validate_update(old, bound)
    moved = copy.deepcopy(bound)
    moved["spec"]["nodeName"] = "n2"
    with pytest.raises(errors.Invalid):
        validate_update(bound, moved)


def test_service_cluster_ip_is_immutable_once_set():
    old = svc(clusterIP="10.96.0.10")
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    with pytest.raises(errors.Invalid) as exc:
        validate_update(old, new)
    assert exc.value.details["causes"][0]["field"] == "spec.clusterIP"
    unset = svc()
    validate_update(unset, old)  # the allocator may set it later


def test_workload_selector_is_immutable():
    old = deploy()
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "x": "y"}}
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    with pytest.raises(errors.Invalid):
        validate_update(old, new)


def test_node_pod_cidr_is_set_once():
    old = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {}}
    set_once = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}}
    validate_update(old, set_once)
    moved = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.2.0/24"}}
    with pytest.raises(errors.Invalid) as exc:
        validate_update(set_once, moved)
    assert exc.value.details["causes"][0]["field"] == "spec.podCIDR"
