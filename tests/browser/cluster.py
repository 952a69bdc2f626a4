"""The cluster the browser tests look at: one ``cox cluster up`` with this
layer's own prefix, subnet, CIDRs and ports (it runs beside any other cluster),
reached through the kubeconfig it wrote, so TLS and tokens are the cluster's own.

What a test needs besides the page: the admin token to log in with, the
masters' dashboard URLs, the certificates' public-key pins Chromium is told to
trust (and nothing else), a client to set up and check state, a view-only
token, and killing one master by the pid ``cluster.json`` records.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cli import kubeconfig
from coxapi.client import Client
from coxapi.errors import AlreadyExists
from localcluster import state
from localcluster.readiness import admin_token
from tests.support import wait_until

FLAGS = ["--prefix", "cxui", "--subnet", "10.251.22.0/24", "--cluster-cidr", "10.244.208.0/22",
         "--service-cidr", "10.96.208.0/24", "--api-port", "12943", "--raft-port", "12901",
         "--masters", "3", "--nodes", "2"]
IMAGE = "coxswain/demo:latest"  # loaded on the nodes by `cluster up`: never pulled


def cox(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def spki_pin(cert_pem: bytes) -> str:
    """Chromium's pin of a certificate: base64 of the SHA-256 of its SubjectPublicKeyInfo."""
    spki = x509.load_pem_x509_certificate(cert_pem).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def up(dir: Path) -> None:
    """``cox cluster up``; again on a running cluster, it starts what is not running."""
    done = cox("cluster", "up", "--dir", str(dir), *FLAGS)
    assert done.returncode == 0, done.stdout + done.stderr


def down(dir: Path) -> None:
    done = cox("cluster", "down", "--dir", str(dir), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


class Cluster:
    def __init__(self, dir: Path) -> None:
        self.dir = dir
        self.kubeconfig = dir / "kubeconfig"
        self.token = admin_token(self.kubeconfig)
        settings = kubeconfig.resolve(kubeconfig.load(str(self.kubeconfig)))
        self.ca_file = settings.ca_file
        self.client = Client(settings.servers, settings.token, timeout=15, ca_file=settings.ca_file)

    def state(self) -> state.ClusterState:
        loaded = state.load(self.dir / "cluster.json")
        assert loaded is not None, f"no cluster.json in {self.dir}"
        return loaded

    def masters(self) -> list[state.MasterRecord]:
        return self.state().masters

    def ui_url(self, master: int = 0) -> str:
        return self.masters()[master].api.rstrip("/") + "/ui/"

    def pins(self) -> list[str]:
        """The masters' serving keys, the only ones the browser accepts."""
        pki = self.state().spec(self.dir).pki_dir
        return [spki_pin((pki / f"{m.name}.crt").read_bytes()) for m in self.masters()]

    def leader(self) -> state.MasterRecord:
        """The master whose own /status/raft says it leads (asked one by one)."""
        def find() -> state.MasterRecord | None:
            for m in self.masters():
                one = Client([m.api], self.token, timeout=3, ca_file=self.ca_file)
                try:
                    if one.request("GET", "/status/raft").get("role") == "leader":
                        return m
                except Exception:  # noqa: BLE001 - a master down or electing: ask the next
                    continue
                finally:
                    one.close()
            return None
        return wait_until(find, 30, 0.2, "a leader")

    def kill_master(self, api_url: str) -> state.MasterRecord:
        """SIGKILL the master serving ``api_url`` (by the pid cluster.json recorded)."""
        origin = api_url.rstrip("/").removesuffix("/ui")
        m = next((m for m in self.masters() if m.api.rstrip("/") == origin), None)
        assert m is not None and m.pid, f"no master with a pid serves {api_url}"
        os.kill(m.pid, signal.SIGKILL)
        return m

    def json(self, *args: str) -> dict:
        done = cox("--kubeconfig", str(self.kubeconfig), *args, "-o", "json", timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def apply(self, obj: dict) -> None:
        """Create ``obj``, or replace it (a rerun on a cluster kept up)."""
        kind = obj["kind"]
        try:
            self.client.create(obj)
        except AlreadyExists:
            now = self.client.get(kind, obj["metadata"]["name"])
            self.client.update({**obj, "metadata": {**obj["metadata"], "resourceVersion":
                                                    now["metadata"]["resourceVersion"]}})

    def running_pods(self, selector: str) -> list[dict]:
        pods = self.client.list("Pod", namespace="default", label_selector=selector)["items"]
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") == "Running"]

    def describe(self, app: str) -> str:
        """What the API holds for Deployment ``app``, its ReplicaSets and pods
        (labelled ``app=APP``): what a failed wait on the page is compared with."""
        d = self.client.get("Deployment", app)
        lines = [f"deployment {app} status {d.get('status')}"]
        for rs in self.client.list("ReplicaSet", namespace="default",
                                   label_selector=f"app={app}")["items"]:
            lines.append(f"rs {rs['metadata']['name']} spec {rs['spec'].get('replicas')} "
                         f"status {rs.get('status')}")
        for p in self.client.list("Pod", namespace="default",
                                  label_selector=f"app={app}")["items"]:
            m, status = p["metadata"], p.get("status") or {}
            conditions = [(c["type"], c["status"]) for c in status.get("conditions", [])]
            containers = [c.get("state") for c in status.get("containerStatuses", [])]
            lines.append(f"pod {m['name']} node {p['spec'].get('nodeName')} "
                         f"phase {status.get('phase')} deleting {m.get('deletionTimestamp')} "
                         f"conditions {conditions} containers {containers}")
        return "\n".join(lines)

    def view_only_token(self, name: str = "ui-viewer") -> str:
        """A ServiceAccount bound to the ClusterRole ``view``, and a token for it."""
        self.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        self.apply({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
        answer = self.client.request(
            "POST", f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "spec": {"expirationSeconds": 3600}})
        return answer["status"]["token"]


@contextlib.contextmanager
def held_requests(api_url: str, token: str, ca_file: str, n: int) -> Iterator[None]:
    """``n`` requests in flight as ``token``'s user at ``api_url``: each sends
    its headers and promises a body that never comes, so the master holds a
    slot of the user's in-flight budget for each (master.inflight) until the
    connections close, when the block ends."""
    url = urlsplit(api_url)
    ctx = ssl.create_default_context(cafile=ca_file)
    held: list[ssl.SSLSocket] = []
    try:
        for _ in range(n):
            sock = ctx.wrap_socket(socket.create_connection((url.hostname, url.port), 10),
                                   server_hostname=url.hostname)
            held.append(sock)
            sock.sendall((f"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
                          f"Host: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                          ).encode())
        yield
    finally:
        for sock in held:
            sock.close()


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "app", "image": IMAGE,
                                         "imagePullPolicy": "Never",
                                         "resources": {"requests": {"cpu": "10m"}}}]}}}}
