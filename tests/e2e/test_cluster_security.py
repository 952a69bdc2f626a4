"""Issue 9's security parts on a real cluster (1 master, 1 node): private
files and an encrypted journal, a pod's ServiceAccount token mounted where
in-cluster clients look, logs fetched with a master-signed token, Pod
Security refusing hostPath, and a node token that cannot list Secrets.

Uses its own prefix (``cxaz``), subnet, CIDRs and ports."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli import kubeconfig
from coxapi import errors
from coxapi.client import Client
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxaz"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.15.0/24", "--cluster-cidr", "10.244.216.0/22",
         "--service-cidr", "10.96.216.0/24", "--api-port", "45443", "--raft-port", "45001",
         "--masters", "1", "--nodes", "1"]
MARKER = "e2e-secret-marker-41c9"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"


def cox(d: Path, *args: str, check: bool = True, stdin: str | None = None
        ) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "cli.main", "--kubeconfig", str(d / "kubeconfig"),
                           *args], capture_output=True, text=True, timeout=120, check=False,
                          input=stdin)
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    up = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "up", "--dir", str(d),
                         *FLAGS], capture_output=True, text=True, timeout=400, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield d
    finally:
        down = subprocess.run([sys.executable, "-m", "cli.main", "cluster", "down", "--dir",
                               str(d)], capture_output=True, text=True, timeout=300, check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def client(d: Path, token: str) -> Client:
    """The cluster's masters (and CA) from its kubeconfig, with another token."""
    settings = kubeconfig.resolve(kubeconfig.load(str(d / "kubeconfig")))
    return Client(settings.servers, token, timeout=10, ca_file=settings.ca_file)


def test_secrets_at_rest(cluster):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "stringData": {"password": MARKER}}
    cox(cluster, "apply", "-f", "-", stdin=json.dumps(secret))
    live = json.loads(cox(cluster, "get", "secret", "db", "-o", "json").stdout)
    assert MARKER not in json.dumps(live["metadata"].get("annotations") or {})
    assert stat.S_IMODE(cluster.stat().st_mode) == 0o700
    data = cluster / "m1"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for f in data.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert MARKER.encode() not in f.read_bytes(), f


def test_a_pod_gets_its_token_and_logs_come_through_the_master(cluster):
    wait_until(lambda: cox(cluster, "get", "serviceaccount", "default", check=False)
               .returncode == 0, 60, what="the default serviceaccount")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sa-check"},
           "spec": {"containers": [{"name": "c", "image": "coxswain/demo:latest",
                                    "imagePullPolicy": "Never", "command": ["/bin/sh", "-c",
                    f"cat {SA}/namespace; echo; head -c 3 {SA}/token; echo; sleep 3600"]}]}}
    cox(cluster, "apply", "-f", "-", stdin=json.dumps(pod))
    wait_until(lambda: "eyJ" in cox(cluster, "logs", "sa-check", check=False).stdout, 120,
               what="the pod's log (through the master, a token signed for the node)")
    assert cox(cluster, "logs", "sa-check").stdout.split() == ["default", "eyJ"]


def test_pod_security_and_node_credentials(cluster):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host"},
           "spec": {"containers": [{"name": "c", "image": "coxswain/demo:latest"}],
                    "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}
    done = cox(cluster, "apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert done.returncode != 0 and "PodSecurity" in done.stderr
    node = client(cluster, (cluster / "n1.token").read_text().strip())
    with pytest.raises(errors.Forbidden):
        node.list("secrets", namespace="default")
    with pytest.raises(errors.Forbidden):
        node.get("secrets", "db", "default")
