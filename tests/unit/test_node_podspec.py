"""The pod -> containers translation (node/podspec.py)."""

from __future__ import annotations

import base64

import pytest

from node import podspec
from node.podspec import ConfigError
from node.testing import make_pod

NODE = "n1"


def pod_with(container: dict, **spec) -> dict:
    pod = make_pod("web", NODE, [container], **spec)
    pod["metadata"]["uid"] = "uid-1"
    return pod


def resolver(objects: dict):
    return lambda kind, ns, name: objects.get((kind, ns, name))


def app(pod: dict, objects: dict | None = None, **kw):
    return podspec.app_spec(pod, pod["spec"]["containers"][0], NODE, 0, "infra-id", "/data",
                            resolver(objects or {}), **kw)


def test_command_replaces_entrypoint_and_args_replace_cmd():
    pod = pod_with({"name": "c", "image": "img", "command": ["/bin/sh", "-c"], "args": ["echo hi"]})
    spec = app(pod)
    assert spec.entrypoint == ["/bin/sh", "-c"]
    assert spec.command == ["echo hi"]


def test_args_alone_keep_the_image_entrypoint():
    spec = app(pod_with({"name": "c", "image": "img", "args": ["--port", "80"]}))
    assert spec.entrypoint is None
    assert spec.command == ["--port", "80"]


def test_neither_command_nor_args_keeps_the_image_defaults():
    spec = app(pod_with({"name": "c", "image": "img"}))
    assert spec.entrypoint is None and spec.command is None


def test_env_literal_configmap_secret_and_envfrom_with_env_winning():
    secret = {"data": {"password": base64.b64encode(b"s3cret").decode()}}
    objects = {("ConfigMap", "default", "cfg"): {"data": {"MODE": "fast", "LEVEL": "3"}},
               ("Secret", "default", "db"): secret}
    pod = pod_with({"name": "c", "image": "img",
                    "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
                    "env": [{"name": "CFG_MODE", "value": "slow"},
                            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                          "key": "password"}}},
                            {"name": "LVL", "valueFrom": {"configMapKeyRef": {"name": "cfg",
                                                                              "key": "LEVEL"}}},
                            {"name": "GREETING", "value": "mode=$(CFG_MODE) $$(literal)"}]})
    env = app(pod, objects).env
    assert env["CFG_LEVEL"] == "3"
    assert env["CFG_MODE"] == "slow"
    assert env["PW"] == "s3cret"
    assert env["LVL"] == "3"
    assert env["GREETING"] == "mode=slow $(literal)"


def test_missing_configmap_is_a_config_error_unless_optional():
    missing = {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}
    with pytest.raises(ConfigError, match='configmap "nope" not found'):
        app(pod_with({"name": "c", "image": "img", "env": [missing]}))
    optional = dict(missing, valueFrom={"configMapKeyRef": {"name": "nope", "key": "k",
                                                            "optional": True}})
    assert "X" not in app(pod_with({"name": "c", "image": "img", "env": [optional]})).env


def test_missing_key_names_the_key():
    objects = {("ConfigMap", "default", "cfg"): {"data": {}}}
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]
    with pytest.raises(ConfigError, match='has no key "k"'):
        app(pod_with({"name": "c", "image": "img", "env": env}), objects)


def test_downward_api_fields():
    pod = pod_with({"name": "c", "image": "img", "env": [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]})
    env = app(pod, pod_ip="10.244.1.5", host_ip="10.250.0.11").env
    assert env == {"POD_IP": "10.244.1.5", "POD_NAME": "web"}


def test_limits_map_to_nano_cpus_and_memory_and_requests_to_shares():
    pod = pod_with({"name": "c", "image": "img", "resources": {
        "limits": {"cpu": "250m", "memory": "64Mi"}, "requests": {"cpu": "100m"}}})
    spec = app(pod)
    assert spec.nano_cpus == 250_000_000
    assert spec.mem_limit == 64 * 2**20
    assert spec.cpu_shares == 102


def test_volumes_emptydir_and_hostpath_with_readonly():
    pod = pod_with({"name": "c", "image": "img", "volumeMounts": [
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "host", "mountPath": "/host", "readOnly": True}]},
        volumes=[{"name": "scratch", "emptyDir": {}},
                 {"name": "host", "hostPath": {"path": "/srv/x", "type": "DirectoryOrCreate"}}])
    assert app(pod).binds == ["/data/pods/uid-1/volumes/empty-dir/scratch:/scratch",
                              "/srv/x:/host:ro"]


def test_mount_of_unknown_volume_is_a_config_error():
    pod = pod_with({"name": "c", "image": "img",
                    "volumeMounts": [{"name": "ghost", "mountPath": "/g"}]})
    with pytest.raises(ConfigError, match="ghost"):
        app(pod)


def test_every_container_is_labelled_with_pod_and_container():
    pod = pod_with({"name": "c", "image": "img"})
    spec = app(pod)
    assert spec.labels[podspec.LABEL_POD_NAME] == "web"
    assert spec.labels[podspec.LABEL_POD_NAMESPACE] == "default"
    assert spec.labels[podspec.LABEL_POD_UID] == "uid-1"
    assert spec.labels[podspec.LABEL_CONTAINER_NAME] == "c"
    assert spec.labels[podspec.LABEL_NODE] == NODE
    assert spec.network_mode == "container:infra-id"
    infra = podspec.infra_spec(pod, NODE, 0, "cox-pods", podspec.PAUSE_IMAGE)
    assert infra.labels[podspec.LABEL_CONTAINER_TYPE] == "infra"
    assert infra.network == "cox-pods" and infra.hostname == "web"


def test_infra_without_pause_image_sleeps_in_the_first_image():
    pod = pod_with({"name": "c", "image": "app:1"})
    infra = podspec.infra_spec(pod, NODE, 0, "cox-pods", None)
    assert infra.image == "app:1"
    assert infra.entrypoint == ["/bin/sh"] and "sleep" in infra.command[-1]


def test_container_hash_changes_with_the_spec():
    a = {"name": "c", "image": "img:1"}
    assert podspec.container_hash(a) == podspec.container_hash(dict(a))
    assert podspec.container_hash(a) != podspec.container_hash(dict(a, image="img:2"))


def test_named_probe_port_resolves():
    c = {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}
    assert podspec.container_port(c, "http") == 8080
    assert podspec.container_port(c, 81) == 81
    with pytest.raises(ConfigError):
        podspec.container_port(c, "grpc")
