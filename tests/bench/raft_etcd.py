"""A 3-member etcd 3.4 cluster on loopback (Debian's /usr/bin/etcd), for the
benchmark's side-by-side figures. Data dirs live in a temp dir; every member
is ended by its pid."""

from __future__ import annotations

import base64
import os
import tempfile

from tests.bench.raft_client import JsonClient
from tests.support import Proc, free_port, wait_until

ETCD = "/usr/bin/etcd"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class EtcdCluster:
    def __init__(self, n: int = 3) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="raftbench-etcd-")
        self.names = [f"e{i + 1}" for i in range(n)]
        self.peer = {m: f"127.0.0.1:{free_port()}" for m in self.names}
        self.client_addr = {m: f"127.0.0.1:{free_port()}" for m in self.names}
        self.procs: dict[str, Proc] = {}

    def start(self, timeout: float = 20.0) -> EtcdCluster:
        initial = ",".join(f"{m}=http://{self.peer[m]}" for m in self.names)
        for m in self.names:
            argv = [ETCD, "--name", m, "--data-dir", os.path.join(self._tmp.name, m),
                    "--listen-peer-urls", f"http://{self.peer[m]}",
                    "--initial-advertise-peer-urls", f"http://{self.peer[m]}",
                    "--listen-client-urls", f"http://{self.client_addr[m]}",
                    "--advertise-client-urls", f"http://{self.client_addr[m]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", f"raftbench-{os.getpid()}",
                    "--log-level", "error", "--logger", "zap"]
            self.procs[m] = Proc(argv, os.path.join(self._tmp.name, f"{m}.log"))
        wait_until(self.leader, timeout, interval=0.1, what="an etcd leader")
        return self

    def _status(self, m: str) -> dict:
        c = JsonClient(self.client_addr[m], timeout=2)
        try:
            return c.post("/v3/maintenance/status", {})
        finally:
            c.close()

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
