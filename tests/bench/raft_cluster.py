"""Three raftstore replicas as real processes on loopback, for the
integration tests and the benchmark. Every process is ended by its pid."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field

from tests.bench.raft_client import JsonClient
from tests.support import Proc, free_port, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Replica:
    name: str
    raft: str
    http: str
    data_dir: str
    log_path: str
    secret_file: str
    peers: list[str]
    proc: Proc | None = None
    extra_args: list[str] = field(default_factory=list)

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "raftstore", "--id", self.name, "--self", self.raft,
                "--data-dir", self.data_dir, "--secret-file", self.secret_file,
                "--http", self.http, *self.extra_args]
        for p in self.peers:
            argv += ["--peer", p]
        return argv

    def client(self, timeout: float = 10.0) -> JsonClient:
        return JsonClient(self.http, timeout)

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=REPO)
        if self.proc is None:
            self.proc = Proc(self.argv(), self.log_path, env=env)
        else:
            self.proc.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def status(self) -> dict:
        c = self.client(timeout=2)
        try:
            return c.get("/v1/status")
        finally:
            c.close()


class RaftCluster:
    def __init__(self, n: int = 3, secret: str = "test-cluster-secret",
                 base_dir: str | None = None, extra_args: list[str] | None = None) -> None:
        self._tmp = None if base_dir else tempfile.TemporaryDirectory(prefix="raftstore-")
        self.dir = base_dir or self._tmp.name  # type: ignore[union-attr]
        self.secret_file = os.path.join(self.dir, "secret")
        with open(os.open(self.secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(secret + "\n")
        rafts = [f"127.0.0.1:{free_port()}" for _ in range(n)]
        self.replicas = [
            Replica(f"r{i + 1}", raft, f"127.0.0.1:{free_port()}",
                    os.path.join(self.dir, f"r{i + 1}"), os.path.join(self.dir, f"r{i + 1}.log"),
                    self.secret_file, [p for p in rafts if p != raft],
                    extra_args=list(extra_args or []))
            for i, raft in enumerate(rafts)]

    def start(self, timeout: float = 15.0) -> RaftCluster:
        for r in self.replicas:
            r.start()
        self.wait_leader(timeout)
        return self

    def leader(self) -> Replica | None:
        for r in self.replicas:
            if r.alive():
                try:
                    if r.status()["role"] == "leader":
                        return r
                except Exception:  # noqa: BLE001 - not up yet
                    continue
        return None

    def wait_leader(self, timeout: float = 10.0) -> Replica:
        return wait_until(self.leader, timeout, what="a raftstore leader")

    def followers(self) -> list[Replica]:
        leader = self.wait_leader()
        return [r for r in self.replicas if r is not leader and r.alive()]

    def logs(self) -> str:
        return "\n".join(f"--- {r.name} ---\n{r.proc.log_tail() if r.proc else ''}"
                         for r in self.replicas)

    def stop(self) -> None:
        for r in self.replicas:
            if r.proc is not None:
                r.proc.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> RaftCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
