"""`cox` against the real master API app (in-memory store, no controllers), served over
loopback by the master's own server (HTTPS): the same calls the fake answers, checked
against the real contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.cli_fakeapi import cox, write_kubeconfig

harness = pytest.importorskip("tests.unit.api_harness")

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "web", "image": "demo:1"}]}}}}


@pytest.fixture
def real() -> Iterator[tuple[object, str]]:
    api = harness.Api()
    yield api, api.url
    api.close()


@pytest.fixture
def kc(real: tuple[object, str], tmp_path: Path) -> str:
    return write_kubeconfig(tmp_path / "kc", [real[1]], token=harness.ADMIN_TOKEN,
                            ca_file=real[0].ca_file)  # type: ignore[attr-defined]


def test_apply_get_scale_delete_round_trip(kc: str) -> None:
    doc = json.dumps(DEPLOY)
    assert cox(kc, "apply", "-f", "-", input=doc).stdout == "deployment.apps/web created\n"
    # The server fills in defaults; apply must still see the object as unchanged.
    assert cox(kc, "apply", "-f", "-", input=doc).stdout == "deployment.apps/web unchanged\n"
    changed = json.dumps({**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": 3}})
    assert cox(kc, "apply", "-f", "-", input=changed).stdout == "deployment.apps/web configured\n"
    r = cox(kc, "get", "deploy")
    assert r.stdout.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert r.stdout.splitlines()[1].split()[:2] == ["web", "0/3"]
    assert cox(kc, "scale", "deploy/web", "--replicas", "1").exit_code == 0
    assert "replicas: 1" in cox(kc, "get", "deploy/web", "-o", "yaml").stdout
    # the server answers a Status for an object gone at once; --wait finds it gone by its uid
    r = cox(kc, "delete", "deploy/web", "--wait")
    assert (r.exit_code, r.stdout) == (0, 'deployment.apps "web" deleted\n')
    r = cox(kc, "get", "deploy/web")
    assert r.exit_code == 3 and r.stderr.startswith("Error from server (NotFound): ")


def test_server_validation_and_auth_errors(kc: str, real: tuple[object, str],
                                           tmp_path: Path) -> None:
    bad = json.dumps({**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": -1}})
    r = cox(kc, "apply", "--no-validate", "-f", "-", input=bad)
    assert r.exit_code == 1
    assert "Error from server (Invalid)" in r.stderr and "spec.replicas" in r.stderr
    wrong = write_kubeconfig(tmp_path / "wrong", [real[1]], token="nope",
                             ca_file=real[0].ca_file)  # type: ignore[attr-defined]
    r = cox(wrong, "get", "po")
    assert (r.exit_code, r.stderr) == (
        5, "error: You must be logged in to the server (Unauthorized)\n")


def test_describe_finds_events_and_cordon_patches(kc: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "demo"}]}}
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "type": "Normal",
             "reason": "Pulled", "message": "image pulled",
             "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {}}
    for obj in (pod, event, node):
        assert cox(kc, "apply", "-f", "-", input=json.dumps(obj)).exit_code == 0
    r = cox(kc, "describe", "po", "p")
    assert "Pulled" in r.stdout and "image pulled" in r.stdout
    assert cox(kc, "cordon", "n1").stdout == "node/n1 cordoned\n"
    assert "SchedulingDisabled" in cox(kc, "get", "no").stdout


def test_get_and_describe_a_resource_quota(kc: str, real: tuple[object, str]) -> None:
    from master.controllers.base import Context
    from master.controllers.resourcequota import ResourceQuotaController

    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
             "spec": {"hard": {"pods": "4", "requests.cpu": "2", "limits.memory": "1Gi"}}}
    assert cox(kc, "apply", "-f", "-", input=json.dumps(quota)).stdout == \
        "resourcequota/compute created\n"
    api = real[0]
    ctx = Context(api.objects)  # type: ignore[attr-defined]
    controller = ResourceQuotaController(ctx)
    ctx.informers.relist()
    controller.periodic()
    controller.drain()
    r = cox(kc, "get", "quota")
    assert r.stdout.split()[:4] == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert "pods: 0/4, requests.cpu: 0/2" in r.stdout and "limits.memory: 0/1Gi" in r.stdout
    lines = cox(kc, "describe", "resourcequota", "compute").stdout.splitlines()
    assert [line.split() for line in lines if line.split()[:1] in (
        ["Resource"], ["pods"], ["requests.cpu"], ["limits.memory"])] == [
        ["Resource", "Used", "Hard"], ["limits.memory", "0", "1Gi"], ["pods", "0", "4"],
        ["requests.cpu", "0", "2"]]
