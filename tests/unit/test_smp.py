"""Strategic merge patch, against Kubernetes' documented semantics (our own cases)."""

from __future__ import annotations

import copy
import json

import pytest

from coxapi import errors, kinds, smp

DEPLOY = kinds.lookup("Deployment").strategy.patch_fields
POD = kinds.lookup("Pod").strategy.patch_fields


def deployment(containers: list[dict]) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "finalizers": ["a", "b"]},
            "spec": {"replicas": 2,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": containers,
                                           "tolerations": [{"key": "a", "operator": "Exists"}]}}}}


def app_container(**extra: object) -> dict:
    return {"name": "app", "image": "web:1", "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "500m"}},
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                    {"name": "C", "value": "3"}], **extra}


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def no_directives(obj: object) -> bool:
    return "$" not in json.dumps(obj)


def test_set_image_keeps_ports_resources_and_pull_policy():
    # What `kubectl set image deployment/web app=web:2` sends.
    old = deployment([app_container(), {"name": "side", "image": "side:1"}])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
        "containers": [{"image": "web:2", "name": "app"}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    assert containers(new)[0] == {**app_container(), "image": "web:2"}
    assert containers(new)[1] == {"name": "side", "image": "side:1"}
    assert no_directives(new)
    assert old["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"  # input untouched


def test_kubectl_edit_of_an_env_list():
    # B changed, C removed, D added between A and B.
    old = deployment([app_container()])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}],
        "containers": [{"name": "app",
                        "$setElementOrder/env": [{"name": "A"}, {"name": "D"}, {"name": "B"}],
                        "env": [{"name": "D", "value": "4"}, {"name": "B", "value": "20"},
                                {"$patch": "delete", "name": "C"}]}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    assert containers(new)[0]["env"] == [{"name": "A", "value": "1"}, {"name": "D", "value": "4"},
                                         {"name": "B", "value": "20"}]
    assert containers(new)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert no_directives(new)


def test_client_side_apply_three_way_patch():
    # kubectl apply of a manifest that drops the resources and port 80, adds port
    # 8080 and a second container, and changes the last-applied annotation. The
    # server-set field (terminationMessagePath) that no manifest named stays.
    old = deployment([app_container(terminationMessagePath="/dev/termination-log")])
    patch = {"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
            "containers": [
                {"name": "app", "resources": None,
                 "$setElementOrder/ports": [{"containerPort": 8080}],
                 "ports": [{"containerPort": 8080}, {"$patch": "delete", "containerPort": 80}]},
                {"name": "side", "image": "side:1"}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    app, side = containers(new)
    assert "resources" not in app
    assert app["ports"] == [{"containerPort": 8080}]
    assert app["terminationMessagePath"] == "/dev/termination-log"
    assert app["env"] == app_container()["env"]
    assert side == {"name": "side", "image": "side:1"}
    assert new["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert no_directives(new)


def test_elements_only_the_server_has_keep_their_place():
    old = deployment([{"name": n, "image": "i"} for n in ("a", "s", "b", "c")])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
        "containers": [{"name": "c", "image": "j"}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    # s (server only) goes before c, which followed it on the server: the two
    # orders merge as Kubernetes merges them.
    assert [c["name"] for c in containers(new)] == ["s", "c", "a", "b"]


def test_new_elements_come_first_without_an_order_directive():
    # As in Kubernetes: with nothing saying where they go, the patch's elements
    # lead, in the patch's order; the server's follow.
    old = deployment([app_container()])
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "ports": [{"containerPort": 443, "name": "tls"}]},
        {"name": "late", "image": "x", "args": None}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    assert [c["name"] for c in containers(new)] == ["app", "late"]
    assert containers(new)[0]["ports"] == [{"containerPort": 443, "name": "tls"},
                                           {"containerPort": 80, "protocol": "TCP"}]
    assert containers(new)[1] == {"name": "late", "image": "x"}  # the null is not stored


def test_lists_without_a_merge_key_are_replaced():
    old = deployment([app_container(args=["a", "b"])])
    patch = {"spec": {"template": {"spec": {
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "containers": [{"name": "app", "args": ["c"]}]}}}}
    new = smp.apply(old, patch, DEPLOY)
    assert new["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert containers(new)[0]["args"] == ["c"]


def test_null_deletes_and_maps_merge():
    old = deployment([app_container()])
    new = smp.apply(old, {"metadata": {"labels": {"x": "1"}}, "spec": {"replicas": None}},
                    DEPLOY)
    assert "replicas" not in new["spec"] and new["metadata"]["labels"] == {"x": "1"}
    assert new["metadata"]["name"] == "web"


def test_primitive_lists_that_merge_are_sets():
    old = deployment([])
    new = smp.apply(old, {"metadata": {"finalizers": ["c", "a"]}}, DEPLOY)
    assert new["metadata"]["finalizers"] == ["c", "a", "b"]
    new = smp.apply(old, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"],
                                       "$setElementOrder/finalizers": ["b", "d"],
                                       "finalizers": ["d"]}}, DEPLOY)
    assert new["metadata"]["finalizers"] == ["b", "d"]
    assert no_directives(new)


def test_retain_keys_switches_a_union():
    # kubectl apply changing the strategy to Recreate.
    old = deployment([app_container()])
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                   "rollingUpdate": None}}}
    new = smp.apply(old, patch, DEPLOY)
    assert new["spec"]["strategy"] == {"type": "Recreate"}


def test_patch_replace_and_delete_directives():
    old = deployment([app_container(), {"name": "side", "image": "s"}])
    new = smp.apply(old, {"spec": {"template": {"metadata": {
        "$patch": "replace", "labels": {"only": "this"}}}}}, DEPLOY)
    assert new["spec"]["template"]["metadata"] == {"labels": {"only": "this"}}
    new = smp.apply(old, {"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "new", "image": "n"}]}}}}, DEPLOY)
    assert containers(new) == [{"name": "new", "image": "n"}]
    new = smp.apply(old, {"spec": {"template": {"spec": {"containers": [
        {"$patch": "delete", "name": "side"}]}}}}, DEPLOY)
    assert [c["name"] for c in containers(new)] == ["app"]
    new = smp.apply(old, {"spec": {"strategy": {"$patch": "delete"}}}, DEPLOY)
    assert new["spec"]["strategy"] == {}


def test_pod_volumes_and_mounts_merge_by_their_keys():
    old = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "volumes": [{"name": "v1", "emptyDir": {}}],
        "containers": [{"name": "app", "image": "i",
                        "volumeMounts": [{"name": "v1", "mountPath": "/a"}]}]}}
    patch = {"spec": {"volumes": [{"name": "v2", "configMap": {"name": "cm"}}],
                      "containers": [{"name": "app", "volumeMounts": [
                          {"name": "v2", "mountPath": "/b"},
                          {"name": "v1", "mountPath": "/a", "readOnly": True}]}]}}
    new = smp.apply(old, patch, POD)
    assert [v["name"] for v in new["spec"]["volumes"]] == ["v2", "v1"]
    assert new["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "v2", "mountPath": "/b"}, {"name": "v1", "mountPath": "/a", "readOnly": True}]


def test_bad_patches_are_refused():
    old = deployment([app_container()])
    with pytest.raises(smp.PatchError, match="merge key 'name'"):
        smp.apply(old, {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
                  DEPLOY)
    with pytest.raises(errors.BadRequest, match=r"\$patch directive 'explode'"):
        smp.apply(old, {"spec": {"$patch": "explode"}}, DEPLOY)
    with pytest.raises(errors.BadRequest, match=r"\$retainKeys"):
        smp.apply(old, {"spec": {"strategy": {"$retainKeys": "type"}}}, DEPLOY)
    with pytest.raises(errors.BadRequest):
        smp.apply(old, ["not", "a", "map"], DEPLOY)
    assert old == deployment([app_container()])


def test_kinds_without_merging_lists_merge_maps_and_replace_lists():
    cm = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    new = smp.apply(cm, {"data": {"b": "2"}}, kinds.lookup("ConfigMap").strategy.patch_fields)
    assert new["data"] == {"a": "1", "b": "2"}
    ep = {"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "1.1.1.1"}]}]}
    new = smp.apply(copy.deepcopy(ep), {"subsets": [{"addresses": [{"ip": "2.2.2.2"}]}]},
                    kinds.lookup("Endpoints").strategy.patch_fields)
    assert new["subsets"] == [{"addresses": [{"ip": "2.2.2.2"}]}]
