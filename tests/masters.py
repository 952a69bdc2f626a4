"""Three real master processes on loopback ports, for integration and chaos tests.

They serve HTTPS with the certificates ``cox master init`` makes, as a real
cluster does; every client here verifies them against the cluster CA
(``MasterCluster.ca_file``)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from coxapi.client import Client
from tests.support import Proc, free_port, https_session, wait_until

COX = [sys.executable, "-m", "cli.main"]


@dataclass
class Master:
    name: str
    url: str
    raft: str
    argv: list[str]
    log: str
    ca_file: str
    proc: Proc | None = None

    def start(self) -> None:
        self.proc = Proc(self.argv, self.log)

    def answers(self, token: str) -> bool:
        try:
            self.raft_status(token)
        except requests.RequestException:
            return False
        return True

    def raft_status(self, token: str, timeout: float = 2) -> dict:
        r = https_session(self.ca_file).get(self.url + "/status/raft", timeout=timeout,
                                            headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()


@dataclass
class MasterCluster:
    dir: Path
    masters: list[Master] = field(default_factory=list)
    token: str = ""
    extra: list[str] = field(default_factory=list)  # flags every master gets

    @property
    def ca_file(self) -> str:
        return str(self.dir / "pki" / "ca.crt")

    @classmethod
    def create(cls, tmp: Path, n: int = 3, extra: list[str] | None = None,
               raft_hosts: list[str] | None = None) -> MasterCluster:
        """``raft_hosts``: one loopback address per master for its Raft port
        (its peer connections leave from it too), so traffic between two
        masters can be told apart by address (tests/chaos/nftcut.py)."""
        names = [f"m{i + 1}" for i in range(n)]
        subprocess.run([*COX, "master", "init", "--dir", str(tmp),
                        *[a for name in names for a in ("--master-name", name)]],
                       check=True, capture_output=True, timeout=60)
        kubeconfig = yaml.safe_load((tmp / "kubeconfig").read_text())
        token = kubeconfig["users"][0]["user"]["token"]
        api_ports = [free_port() for _ in range(n)]
        raft_ports = [free_port() for _ in range(n)]
        hosts = raft_hosts or ["127.0.0.1"] * n
        raft = [f"{h}:{p}" for h, p in zip(hosts, raft_ports, strict=True)]
        mc = cls(dir=tmp, token=token, extra=list(extra or []))
        for i, name in enumerate(names):
            mc.masters.append(mc.new_master(name, api_ports[i], raft[i],
                                            [a for j, a in enumerate(raft) if j != i]))
        for m in mc.masters:
            m.start()
        wait_until(mc.leader, 30, 0.1, "a Raft leader among the masters")
        mc.wait_answering()
        return mc

    def wait_answering(self, timeout: float = 30) -> None:
        """Until every master's API answers: a leader is found through its own
        API, while the others' may still be starting."""
        wait_until(lambda: all(m.answers(self.token) for m in self.masters), timeout, 0.1,
                   "every master's API")

    def new_master(self, name: str, api_port: int, raft: str, peers: list[str]) -> Master:
        """A master of this cluster (not started); its certificate must exist."""
        tmp = self.dir
        argv = [*COX, "master", "run", "--name", name,
                "--listen", f"127.0.0.1:{api_port}",
                "--raft", raft,
                "--data-dir", str(tmp / name),
                "--token-file", str(tmp / "tokens.csv"),
                "--cluster-secret-file", str(tmp / "cluster-secret"),
                "--tls-cert-file", str(tmp / "pki" / f"{name}.crt"),
                "--tls-private-key-file", str(tmp / "pki" / f"{name}.key"),
                "--encryption-config-file", str(tmp / "encryption-config.yaml"),
                *[a for p in peers for a in ("--peer", p)], *self.extra]
        return Master(name, f"https://127.0.0.1:{api_port}", raft, argv,
                      str(tmp / f"{name}.log"), self.ca_file)

    def start_joining(self, name: str, members: list[Master]) -> Master:
        """Start a new master whose --peer flags name ``members`` (it is not
        one yet: `cox master add` makes it one) and add it to ``masters``."""
        subprocess.run([*COX, "master", "init", "--dir", str(self.dir), "--master-name", name],
                       check=True, capture_output=True, timeout=60)
        m = self.new_master(name, free_port(), f"127.0.0.1:{free_port()}",
                            [x.raft for x in members])
        self.masters.append(m)
        m.start()
        wait_until(lambda: m.raft_status(self.token), 30, 0.1, f"{name}'s API")
        return m

    def client(self) -> Client:
        return Client([m.url for m in self.masters], self.token, timeout=10, ca_file=self.ca_file)

    def client_at(self, *masters: Master, timeout: float = 5) -> Client:
        """An admin client of these masters only (no failover to the others)."""
        return Client([m.url for m in masters], self.token, timeout=timeout,
                      ca_file=self.ca_file)

    def session(self) -> requests.Session:
        """A session with the admin token that trusts the cluster CA."""
        s = https_session(self.ca_file)
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def leader(self) -> Master | None:
        for m in self.masters:
            if m.proc is None or not m.proc.alive():
                continue
            try:
                if m.raft_status(self.token).get("role") == "leader":
                    return m
            except requests.RequestException:
                continue
        return None

    def stop(self) -> None:
        for m in self.masters:
            if m.proc is not None:
                m.proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {m.name}\n{m.proc.log_tail() if m.proc else ''}"
                         for m in self.masters)
