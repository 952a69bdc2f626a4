"""A 3-member etcd 3.4 cluster on loopback (Debian's /usr/bin/etcd), for the
benchmark's side-by-side figures. Data dirs live in a temp dir; every member
is ended by its pid.

Plain HTTP by default (the anchor issue 8 was measured against). With
``tls=True`` its client and peer connections are TLS, with certificates of a
CA made for the run: how kubeadm runs etcd for Kubernetes, and how
coxswain's own API (HTTPS) and Raft traffic (AES-GCM) always run."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

import requests

from coxapi import pki
from tests.support import Proc, free_port, wait_until

ETCD = "/usr/bin/etcd"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class EtcdCluster:
    def __init__(self, n: int = 3, tls: bool = False) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="raftbench-etcd-")
        self.tls = tls
        self.scheme = "https" if tls else "http"  # of every URL the members are given
        self.ca_file = ""  # the CA that signed the members' certificate, with tls
        self.names = [f"e{i + 1}" for i in range(n)]
        self.peer = {m: f"127.0.0.1:{free_port()}" for m in self.names}
        self.client_addr = {m: f"127.0.0.1:{free_port()}" for m in self.names}
        self.procs: dict[str, Proc] = {}

    def start(self, timeout: float = 20.0) -> EtcdCluster:
        sch = self.scheme
        initial = ",".join(f"{m}={sch}://{self.peer[m]}" for m in self.names)
        tls_flags = self._certificates() if self.tls else []
        for m in self.names:
            argv = [ETCD, "--name", m, "--data-dir", os.path.join(self._tmp.name, m),
                    "--listen-peer-urls", f"{sch}://{self.peer[m]}",
                    "--initial-advertise-peer-urls", f"{sch}://{self.peer[m]}",
                    "--listen-client-urls", f"{sch}://{self.client_addr[m]}",
                    "--advertise-client-urls", f"{sch}://{self.client_addr[m]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", f"raftbench-{os.getpid()}",
                    "--log-level", "error", "--logger", "zap", *tls_flags]
            self.procs[m] = Proc(argv, os.path.join(self._tmp.name, f"{m}.log"))
        wait_until(self.leader, timeout, interval=0.1, what="an etcd leader")
        return self

    def _certificates(self) -> list[str]:
        """A CA and one certificate for 127.0.0.1 (every member listens there),
        and the flags that make each member serve and dial with them."""
        d = Path(self._tmp.name)
        ca = pki.new_ca("raftbench-etcd-ca")
        served = pki.issue_serving(ca, "etcd", ["127.0.0.1"], peer=True)
        for name, data in (("ca.crt", ca.cert_pem), ("etcd.crt", served.cert_pem),
                           ("etcd.key", served.key_pem)):
            (d / name).write_bytes(data)
        self.ca_file = str(d / "ca.crt")
        cert, key = str(d / "etcd.crt"), str(d / "etcd.key")
        return ["--cert-file", cert, "--key-file", key, "--peer-cert-file", cert,
                "--peer-key-file", key, "--peer-trusted-ca-file", self.ca_file]

    def _status(self, m: str) -> dict:
        r = requests.post(f"{self.scheme}://{self.client_addr[m]}/v3/maintenance/status",
                          json={}, verify=self.ca_file or True, timeout=2)
        r.raise_for_status()
        return r.json()

    def leader(self) -> str | None:
        for m in self.names:
            try:
                st = self._status(m)
            except Exception:  # noqa: BLE001 - not up yet
                continue
            if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                return m
        return None

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()
        self._tmp.cleanup()
