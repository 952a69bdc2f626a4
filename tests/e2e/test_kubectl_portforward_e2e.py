"""The real `kubectl port-forward` (1.32: SPDY/3.1 tunnelled in a WebSocket,
master.api.pftunnel) against a cox cluster: many concurrent HTTP requests
through one forward to busybox's httpd on the pod's port 80, and a closed pod
port reported as kubectl reports it for Kubernetes.

One `cox cluster up` (1 master, 1 node) with this module's own prefix
(``cxpf``), subnet, CIDRs and ports.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.clusterharness import kubectl_132
from tests.support import wait_until

pytestmark = pytest.mark.e2e

FLAGS = ["--prefix", "cxpf", "--subnet", "10.251.24.0/24", "--cluster-cidr", "10.244.240.0/22",
         "--service-cidr", "10.96.240.0/24", "--api-port", "13143", "--raft-port", "13101",
         "--masters", "1", "--nodes", "1"]
KUBECTL = kubectl_132()
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
       "spec": {"terminationGracePeriodSeconds": 1, "containers": [
           {"name": "web", "image": "coxswain/demo:latest", "imagePullPolicy": "Never",
            "command": ["sh", "-c", "echo hello from x > /www/index.html && "
                                    "exec httpd -f -p 80 -h /www"]}]}}


def cox(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Path]:
    if KUBECTL is None:
        pytest.skip("no kubectl binary (./dev installs one)")
    d = tmp_path_factory.mktemp("cluster")
    up = cox("cluster", "up", "--dir", str(d), *FLAGS)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        (d / "pod.json").write_text(json.dumps(POD))
        applied = cox("--kubeconfig", str(d / "kubeconfig"), "apply", "-f", str(d / "pod.json"))
        assert applied.returncode == 0, applied.stderr

        def running() -> bool:
            out = cox("--kubeconfig", str(d / "kubeconfig"), "get", "pod", "x", "-o", "json").stdout
            return bool(out) and json.loads(out).get("status", {}).get("phase") == "Running"
        wait_until(running, 120, 1, "pod x running")
        yield d
    finally:
        down = cox("cluster", "down", "--dir", str(d), timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr


class Forward:
    """``kubectl port-forward pod/x :PORT``: the local port it chose."""

    def __init__(self, cluster: Path, port: int) -> None:
        assert KUBECTL is not None
        self.proc = subprocess.Popen(
            [KUBECTL, "--kubeconfig", str(cluster / "kubeconfig"), "port-forward", "pod/x",
             f":{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "true"})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        assert line.startswith("Forwarding from 127.0.0.1:") and line.endswith(f"-> {port}\n"), \
            line + self.stderr()
        self.local = int(line.split(":")[1].split()[0])

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


def test_many_concurrent_connections_through_one_forward(cluster):
    fwd = Forward(cluster, 80)
    try:
        def get(i: int) -> bytes:
            with urllib.request.urlopen(f"http://127.0.0.1:{fwd.local}/index.html?n={i}",
                                        timeout=60) as r:
                return r.read()
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(get, range(100)))
        assert answers == [b"hello from x\n"] * 100
        assert fwd.proc.poll() is None, fwd.stderr()  # still forwarding
    finally:
        fwd.close()


def test_a_closed_pod_port_is_reported_as_for_kubernetes(cluster):
    fwd = Forward(cluster, 81)
    try:
        with pytest.raises(OSError), \
                urllib.request.urlopen(f"http://127.0.0.1:{fwd.local}/", timeout=60) as r:
            r.read()  # never reached: the connection is closed without an answer
        fwd.proc.wait(60)  # kubectl gives up on the pod after an error, as with Kubernetes
        err = fwd.stderr()
        assert f"an error occurred forwarding {fwd.local} -> 81: error forwarding port 81 " \
               "to pod x" in err, err
        assert "connect: connection refused" in err, err
    finally:
        fwd.close()


def test_the_agent_serves_masters_over_tls_from_the_cluster_ca(cluster):
    """The forward above went master→agent over TLS: the agent's port answers
    only TLS, with a certificate for its address that the cluster CA signed;
    logs come the same way."""
    node = json.loads(cox("--kubeconfig", str(cluster / "kubeconfig"), "get", "node", "n1",
                          "-o", "json").stdout or "{}")
    address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    ctx = ssl.create_default_context(cafile=str(cluster / "pki" / "ca.crt"))
    with socket.create_connection((address, 10250), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=address) as tls:
        assert ("IP Address", address) in tls.getpeercert()["subjectAltName"]
    assert KUBECTL is not None
    logs = subprocess.run([KUBECTL, "--kubeconfig", str(cluster / "kubeconfig"), "logs", "x"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert logs.returncode == 0, logs.stderr
