"""Replacing masters of a running local cluster: `cox cluster up` (3 masters,
1 node), `cox cluster add-master` (m4: its certificate, its sealed Raft port,
`cox master add`), `cox cluster remove-master m1`, then the leader killed by
pid. Writes go on, the node stays Ready (its agent, started with m1..m3,
found m4 through the cluster), the seal guards m4's Raft port, and `cox
cluster down` leaves nothing, m4 included (docs/membership.md).
Uses its own prefix (``cxmb``), subnet, CIDRs and ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from coxapi.client import Client
from localcluster import seal
from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PREFIX = "cxmb"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.23.0/24", "--cluster-cidr", "10.244.212.0/22",
         "--service-cidr", "10.96.212.0/24", "--api-port", "13043", "--raft-port", "13001",
         "--masters", "3", "--nodes", "1"]
TABLE = f"{PREFIX}-seal"
BRIDGE_ADDR = "10.251.23.1"


def cox_cluster(c: harness.Cluster, *args: str) -> str:
    done = subprocess.run([*harness.COX, "cluster", *args, "--dir", str(c.dir)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def raft_ports() -> list[int]:
    out = subprocess.run(["nft", "-j", "list", "map", "inet", TABLE, "raft_ports"],
                         capture_output=True, text=True, check=True).stdout
    elems = next(x["map"] for x in json.loads(out)["nftables"] if "map" in x).get("elem", [])
    return sorted(e[0]["concat"][1] for e in elems)


def masters(c: harness.Cluster) -> dict[str, dict]:
    return {m["name"]: m for m in c.info()["masters"]}


def leader(c: harness.Cluster) -> str | None:
    s = c.settings()
    for name, m in masters(c).items():
        try:
            st = Client([m["api"]], s.token, timeout=2, ca_file=s.ca_file).request(
                "GET", "/status/raft")
        except Exception:  # noqa: BLE001 - a master that does not answer is not the leader
            continue
        if st.get("role") == "leader":
            return name
    return None


def renewed(c: harness.Cluster) -> str:
    return c.api.get("Lease", "n1", "kube-node-lease")["spec"]["renewTime"]


def node_ready(c: harness.Cluster) -> bool:
    node = c.api.get("Node", "n1", None)
    return any(x["type"] == "Ready" and x["status"] == "True"
               for x in node["status"]["conditions"])


def refused_raft(port: int) -> None:
    """A connection from the node's namespace to a Raft port on the bridge address."""
    code = ("import socket,sys\ns=socket.socket();s.settimeout(1)\n"
            "try: s.connect((sys.argv[1], int(sys.argv[2])))\nexcept OSError: pass")
    subprocess.run(["nsenter", f"--net=/run/netns/{PREFIX}-n1", "--", "python3", "-c", code,
                    BRIDGE_ADDR, str(port)], check=True, timeout=30)


def test_add_a_master_remove_one_kill_the_leader(tmp_path: Path):
    c = harness.Cluster(tmp_path / "cluster", FLAGS)
    with harness.running(c, harness.no_netns, harness.no_links, harness.no_processes,
                         harness.no_mounts):
        c.api.create({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "before", "namespace": "default"}})
        assert raft_ports() == [13001, 13002, 13003]

        out = cox_cluster(c, "add-master")
        assert "master m4 added" in out
        m4 = masters(c)["m4"]
        assert m4["raft"] == "127.0.0.1:13004" and m4["pid"]
        assert raft_ports() == [13001, 13002, 13003, 13004]
        before = seal.counters(TABLE).raft_refused
        refused_raft(13004)
        assert seal.counters(TABLE).raft_refused > before, "m4's Raft port is not sealed"
        assert m4["api"] in c.settings().servers  # the kubeconfig lists it
        status = c.cox("cluster", "status")
        assert "m4" in status and status.count("voter") == 4, status

        cox_cluster(c, "remove-master", "m1")
        assert sorted(masters(c)) == ["m2", "m3", "m4"]
        assert raft_ports() == [13002, 13003, 13004]
        assert not (c.dir / "m1").exists()
        c.__dict__.pop("api", None)  # a client of the rewritten kubeconfig
        assert "https://10.251.23.1:13043" not in c.settings().servers

        name = wait_until(lambda: leader(c), 30, what="a leader")
        lease_before = renewed(c)
        os.kill(masters(c)[name]["pid"], signal.SIGKILL)
        t0 = time.monotonic()
        client = c.client(timeout=5)
        wait_until(lambda: client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "after", "namespace": "default"}}), 60, what="a write after the kill")
        print(f"first write {time.monotonic() - t0:.1f}s after {name} was killed")
        assert {cm["metadata"]["name"] for cm in client.list("ConfigMap", "default")["items"]
                } >= {"before", "after"}
        # the agent, started with m1..m3, renews its lease through the survivors
        wait_until(lambda: renewed(c) != lease_before and node_ready(c), 90,
                   what="n1's lease renewed after the kill")
        agent_log = (c.dir / "logs" / "n1-agent.log").read_text()
        assert "https://10.251.23.1:13046" in agent_log, "the agent never learnt of m4"
    assert TABLE not in seal.tables()
    assert not (c.dir / "m4").exists() and not (c.dir / "cluster.json").exists()
