"""Three real master processes on loopback: any master serves reads, writes and
watches; the API survives the loss of the leader without losing an
acknowledged write; a master cut off from quorum answers 503 quickly."""

from __future__ import annotations

import importlib.util
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from coxapi import errors
from coxapi.client import Client
from master.auth import init_cluster_dir, load_tokens
from raftstore import StoreConfig
from tests.support import Proc, free_port, https_session, wait_until

pytestmark = pytest.mark.integration


def _master_argv() -> list[str]:
    if importlib.util.find_spec("cli.main") is not None:
        return [sys.executable, "-m", "cli.main", "master", "run"]
    return [sys.executable, "-m", "master.command", "run"]


def _distinct_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


class Masters:
    """Three masters started with `cox master run`, ended by pid."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp
        init_cluster_dir(tmp, masters=["m1", "m2", "m3"])
        self.ca_file = str(tmp / "pki" / "ca.crt")
        self.token = next(e.token for e in load_tokens(tmp / "tokens.csv")
                          if "system:masters" in e.user.groups)
        ports = _distinct_ports(6)
        self.raft = [f"127.0.0.1:{p}" for p in ports[:3]]
        self.ports = ports[3:]
        self.urls = [f"https://127.0.0.1:{p}" for p in self.ports]
        self.procs: list[Proc] = []
        for i in range(3):
            argv = _master_argv() + [
                "--name", f"m{i + 1}", "--listen", f"127.0.0.1:{self.ports[i]}",
                "--raft", self.raft[i], "--data-dir", str(tmp / f"m{i + 1}"),
                "--token-file", str(tmp / "tokens.csv"),
                "--cluster-secret-file", str(tmp / "cluster-secret"),
                "--tls-cert-file", str(tmp / "pki" / f"m{i + 1}.crt"),
                "--tls-private-key-file", str(tmp / "pki" / f"m{i + 1}.key")]
            for j in range(3):
                if j != i:
                    argv += ["--peer", self.raft[j]]
            self.procs.append(Proc(argv, str(tmp / f"m{i + 1}.log")))

    def session(self) -> requests.Session:
        s = https_session(self.ca_file)
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def raft_status(self, i: int) -> dict:
        return self.session().get(f"{self.urls[i]}/status/raft", timeout=2).json()

    def leader(self, among: list[int] | None = None) -> int:
        """Index of the master every live one agrees is leader."""
        among = among if among is not None else [i for i in range(3) if self.procs[i].alive()]

        def agreed() -> str | None:
            leaders = {self.raft_status(i)["leader"] for i in among}
            return leaders.pop() if len(leaders) == 1 and None not in leaders else None

        lid = wait_until(agreed, 15, 0.1, "the masters to agree on a leader")
        return self.raft.index(lid)

    def ready(self) -> None:
        self.leader()
        for i in range(3):
            wait_until(lambda i=i: self.session().get(
                f"{self.urls[i]}/api/v1/namespaces/kube-node-lease", timeout=2).status_code == 200,
                15, 0.1, f"master {i + 1} to serve the system namespaces")

    def logs(self) -> str:
        return "\n".join(f"--- m{i + 1}\n{p.log_tail(30)}" for i, p in enumerate(self.procs))

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


@pytest.fixture
def masters(tmp_path: Path) -> Iterator[Masters]:
    m = Masters(tmp_path)
    try:
        m.ready()
        yield m
    except BaseException:
        print(m.logs())
        raise
    finally:
        m.stop()


def cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"v": name}}


def test_every_master_serves_crud_and_watch(masters):
    s = masters.session()
    base = "/api/v1/namespaces/default/configmaps"
    rv = s.get(masters.urls[0] + base, timeout=5).json()["metadata"]["resourceVersion"]
    # one watch per master, all from the same version
    streams = [s.get(u + base, params={"watch": "true", "resourceVersion": rv,
                                       "timeoutSeconds": "20"}, stream=True, timeout=20)
               for u in masters.urls]
    for i, url in enumerate(masters.urls):
        r = s.post(url + base, json=cm(f"from-m{i + 1}"), timeout=10)
        assert r.status_code == 201, r.text
        # a write on one master is read back from every master (linearizable reads)
        for other in masters.urls:
            got = s.get(f"{other}{base}/from-m{i + 1}", timeout=10)
            assert got.status_code == 200 and got.json()["data"] == {"v": f"from-m{i + 1}"}
    r = s.patch(f"{masters.urls[2]}{base}/from-m1", json={"data": {"v": "patched"}},
                headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    assert r.status_code == 200
    stale = s.get(f"{masters.urls[1]}{base}/from-m1", timeout=10).json()
    stale["metadata"]["resourceVersion"] = rv
    assert s.put(f"{masters.urls[1]}{base}/from-m1", json=stale, timeout=10).status_code == 409
    assert s.delete(f"{masters.urls[1]}{base}/from-m2", timeout=10).status_code == 200

    expected = [("ADDED", "from-m1"), ("ADDED", "from-m2"), ("ADDED", "from-m3"),
                ("MODIFIED", "from-m1"), ("DELETED", "from-m2")]
    for i, stream in enumerate(streams):
        seen = []
        with stream:
            for line in stream.iter_lines():
                if line:
                    ev = json.loads(line)
                    seen.append((ev["type"], ev["object"]["metadata"]["name"]))
                if len(seen) == len(expected):
                    break
        assert seen == expected, f"watch on m{i + 1}"


def test_killing_the_leader_keeps_the_api_serving_and_loses_no_acknowledged_write(masters):
    leader = masters.leader()
    survivors = [i for i in range(3) if i != leader]
    client = Client([masters.urls[i] for i in survivors] + [masters.urls[leader]],
                    token=masters.token, timeout=10, ca_file=masters.ca_file)
    acked: list[str] = []
    acked_at: list[float] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            name = f"w{n}"
            n += 1
            try:
                client.create(cm(name))
                acked.append(name)
                acked_at.append(time.monotonic())
            except (errors.ApiError, errors.ClusterUnreachable):
                continue  # not acknowledged; its outcome may be unknown

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    wait_until(lambda: len(acked) >= 20, 20, what="writes before the failover")
    masters.procs[leader].signal(signal.SIGKILL)
    killed_at = time.monotonic()
    before = len(acked)
    wait_until(lambda: len(acked) >= before + 20, 30, what="writes after killing the leader")
    # the longest pause between acknowledged writes around the kill: the failover
    pause = max(b - max(a, killed_at) for a, b in zip(acked_at, acked_at[1:], strict=False)
                if b > killed_at)
    stop.set()
    t.join(15)
    new_leader = masters.leader(survivors)
    assert new_leader in survivors
    print(f"\nleader m{leader + 1} killed: writes paused {pause:.2f}s until the new leader "
          f"m{new_leader + 1} took them; {len(acked)} acknowledged writes, none lost")
    assert pause < 10
    s = masters.session()
    for i in survivors:
        items = s.get(f"{masters.urls[i]}/api/v1/namespaces/default/configmaps",
                      timeout=10).json()["items"]
        present = {o["metadata"]["name"] for o in items}
        missing = [n for n in acked if n not in present]
        assert not missing, f"acknowledged writes lost on m{i + 1}: {missing[:10]}"


def test_a_master_without_quorum_answers_503_quickly(masters):
    s = masters.session()
    base = "/api/v1/namespaces/default/configmaps"
    assert s.post(masters.urls[0] + base, json=cm("before"), timeout=10).status_code == 201
    lone = 0
    watch = s.get(masters.urls[lone] + base, params={"watch": "true", "resourceVersion": "0",
                                                     "timeoutSeconds": "60"},
                  stream=True, timeout=60)
    for i in (1, 2):
        masters.procs[i].kill()
    killed_at = time.monotonic()
    # its watches end with a 503 ERROR (they could no longer see changes)
    with watch:
        events = [json.loads(line) for line in watch.iter_lines() if line]
    ended_after = time.monotonic() - killed_at
    assert events[-1]["type"] == "ERROR" and events[-1]["object"]["code"] == 503
    assert ended_after < 15
    print(f"\nwatch on the cut-off master ended with 503 after {ended_after:.2f}s")
    for method, kwargs in (("POST", {"json": cm("after")}), ("GET", {})):
        t0 = time.monotonic()
        r = s.request(method, masters.urls[lone] + base, timeout=10, **kwargs)
        took = time.monotonic() - t0
        print(f"\n{method} on a master without quorum: {r.status_code} in {took:.2f}s")
        assert r.status_code == 503, r.text
        assert r.json()["reason"] == "ServiceUnavailable"
        assert took < 5
    # an explicitly stale read (resourceVersion=0) is served from the local replica
    r = s.get(masters.urls[lone] + base, params={"resourceVersion": "0"}, timeout=10)
    assert r.status_code == 200
    assert "before" in {o["metadata"]["name"] for o in r.json()["items"]}
    # and the write that got 503 was not silently applied here
    names = {o["metadata"]["name"] for o in r.json()["items"]}
    assert "after" not in names


def test_a_master_that_knows_it_has_no_leader_answers_before_the_write_timeout(masters):
    """Once no election is plausibly in progress (the leader gone for longer
    than an election takes), a master answers 503 at once, says nothing was
    applied and when to retry, instead of holding each request for the write
    timeout."""
    s = masters.session()
    base = "/api/v1/namespaces/default/configmaps"
    for i in (1, 2):
        masters.procs[i].kill()
    wait_until(lambda: masters.raft_status(0)["leader"] is None, 15, 0.1,
               "the lone master to know it has no leader")
    wait_until(lambda: errors.is_not_applied(errors.ApiError.from_status(
        s.get(masters.urls[0] + base, timeout=10).json())), 15, 0.1,
        "the election window to pass")
    write_timeout = StoreConfig().write_timeout  # the masters run with the default
    for method, kwargs in (("POST", {"json": cm("refused")}), ("GET", {})):
        t0 = time.monotonic()
        r = s.request(method, masters.urls[0] + base, timeout=10, **kwargs)
        took = time.monotonic() - t0
        print(f"\n{method} on a master that knows it has no leader: {r.status_code} in "
              f"{took:.3f}s (write timeout {write_timeout:g}s)")
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert errors.is_not_applied(errors.ApiError.from_status(r.json()))
        assert took < write_timeout / 2
    r = s.get(masters.urls[0] + base, params={"resourceVersion": "0"}, timeout=10)
    assert "refused" not in {o["metadata"]["name"] for o in r.json()["items"]}


def _deployment(name: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "x:1"}]}}}}


def test_the_controllers_move_with_the_leader(masters):
    """The leader runs the controllers: a Deployment gets its ReplicaSet before
    and after the leader is killed."""
    s = masters.session()
    deploys = "/apis/apps/v1/namespaces/default/deployments"
    replicasets = "/apis/apps/v1/namespaces/default/replicasets"

    def has_replicaset(url: str, owner: str) -> bool:
        items = s.get(url + replicasets, timeout=5).json()["items"]
        return any(r["kind"] == "Deployment" and r["name"] == owner
                   for rs in items for r in rs["metadata"].get("ownerReferences") or [])

    leader = masters.leader()
    follower = (leader + 1) % 3
    assert s.post(masters.urls[follower] + deploys, json=_deployment("before"),
                  timeout=10).status_code == 201
    wait_until(lambda: has_replicaset(masters.urls[follower], "before"), 20,
               what="a ReplicaSet from the first leader's controllers")
    masters.procs[leader].signal(signal.SIGKILL)
    survivors = [i for i in range(3) if i != leader]
    masters.leader(survivors)
    url = masters.urls[survivors[0]]
    wait_until(lambda: s.post(url + deploys, json=_deployment("after"),
                              timeout=10).status_code == 201, 20, what="the create after failover")
    wait_until(lambda: has_replicaset(url, "after"), 20,
               what="a ReplicaSet from the new leader's controllers")


def test_compare_and_swap_across_masters_loses_no_update(masters):
    """Read-modify-write increments through different masters: a stale write gets
    409 and retries, so the final count equals the number of increments."""
    path = "/api/v1/namespaces/default/configmaps/counter"
    s = masters.session()
    assert s.post(masters.urls[0] + "/api/v1/namespaces/default/configmaps",
                  json={"metadata": {"name": "counter"}, "data": {"n": "0"}},
                  timeout=10).status_code == 201
    per_client, conflicts = 15, [0]

    def incrementer(url: str) -> None:
        ss = masters.session()
        done = 0
        while done < per_client:
            cur = ss.get(url + path, timeout=10).json()
            cur["data"]["n"] = str(int(cur["data"]["n"]) + 1)
            r = ss.put(url + path, json=cur, timeout=10)
            if r.status_code == 409:
                conflicts[0] += 1
                continue
            assert r.status_code == 200, r.text
            done += 1

    threads = [threading.Thread(target=incrementer, args=(u,)) for u in masters.urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    final = int(s.get(masters.urls[1] + path, timeout=10).json()["data"]["n"])
    print(f"\n{3 * per_client} increments through 3 masters, {conflicts[0]} conflicts retried")
    assert final == 3 * per_client
