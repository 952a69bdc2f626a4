"""Issue 9's security parts on a real cluster (1 master, 1 node): private
files and an encrypted journal, a pod's ServiceAccount token mounted where
in-cluster clients look, logs fetched with a master-signed token, Pod
Security refusing hostPath, and a node token that cannot list Secrets.

Uses its own prefix (``cxaz``), subnet, CIDRs and ports."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator

import pytest

from coxapi import errors
from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxaz"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.15.0/24", "--cluster-cidr", "10.244.216.0/22",
         "--service-cidr", "10.96.216.0/24", "--api-port", "12143", "--raft-port", "12101",
         "--masters", "1", "--nodes", "1"]
MARKER = "e2e-secret-marker-41c9"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[harness.Cluster]:
    c = harness.Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c):
        yield c


def test_secrets_at_rest(cluster):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "stringData": {"password": MARKER}}
    cluster.apply(secret)
    live = cluster.json("get", "secret", "db")
    assert MARKER not in json.dumps(live["metadata"].get("annotations") or {})
    assert stat.S_IMODE(cluster.dir.stat().st_mode) == 0o700
    data = cluster.dir / "m1"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for f in data.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert MARKER.encode() not in f.read_bytes(), f


def test_a_pod_gets_its_token_and_logs_come_through_the_master(cluster):
    wait_until(lambda: cluster.run("cox", "get", "serviceaccount", "default").returncode == 0,
               60, what="the default serviceaccount")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sa-check"},
           "spec": {"containers": [{"name": "c", "image": harness.DEMO_IMAGE,
                                    "imagePullPolicy": "Never", "command": ["/bin/sh", "-c",
                    f"cat {SA}/namespace; echo; head -c 3 {SA}/token; echo; sleep 3600"]}]}}
    cluster.apply(pod)
    wait_until(lambda: b"eyJ" in cluster.run("cox", "logs", "sa-check").stdout, 120,
               what="the pod's log (through the master, a token signed for the node)")
    assert cluster.cox("logs", "sa-check").split() == ["default", "eyJ"]


def test_pod_security_and_node_credentials(cluster):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host"},
           "spec": {"containers": [{"name": "c", "image": harness.DEMO_IMAGE}],
                    "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}
    done = cluster.run("cox", "apply", "-f", "-", input=json.dumps(pod).encode())
    assert done.returncode != 0 and b"PodSecurity" in done.stderr
    node = cluster.client((cluster.dir / "n1.token").read_text().strip())
    with pytest.raises(errors.Forbidden):
        node.list("secrets", namespace="default")
    with pytest.raises(errors.Forbidden):
        node.get("secrets", "db", "default")
