"""Chaos on a real local cluster: an agent killed alone, then a whole node lost.

`cox cluster up` (3 masters, 2 nodes, each node in its own network namespace
with its own dockerd and agent) with a short node grace period and eviction
timeout, so the node lifecycle acts within seconds:

- **Agent killed alone** (SIGKILL of n1's agent, by its pid from cluster.json):
  its pods' containers keep running; `cox cluster up` starts the agent again
  and it adopts them: the same container ids, restart counts unchanged, Ready,
  sampled over two lease renewals of the new agent.
- **Node lost** (n1's agent and dockerd SIGKILLed by pid, its veth link set
  down) while a client in n2's namespace calls a Service of 4 pods spread over
  both nodes: n1 goes NotReady (Ready=Unknown) after the grace period, its
  pods leave the Endpoints and are deleted after the eviction timeout, 4 pods
  run on n2, and the client's failures end once the Endpoints drop n1's pods.
  `cox cluster up` brings n1 back (link up, dockerd with its data root kept,
  as after a reboot, then the agent): n1 is Ready again and its agent removes
  the stale containers of the pods that moved (Docker's destroy events).

Judged from samples (API state every 0.25 s, every client request with its
start and end), with deadlines, never sleeps. Figures: NotReady after,
endpoints dropped after, evicted and replaced after, client outage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

PREFIX = "cxnl"
GRACE, EVICTION = 10.0, 5.0  # seconds; the agent renews its lease every 5 s
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.20.0/24", "--cluster-cidr", "10.244.236.0/22",
         "--service-cidr", "10.96.236.0/24", "--api-port", "12743", "--raft-port", "12701",
         "--node-grace-period", str(GRACE), "--eviction-timeout", str(EVICTION)]
APP = "nl"
REPLICAS = 4
UID_LABEL = "io.coxswain.pod.uid"

WORKLOAD = [
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": APP, "namespace": "default"},
     "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": APP}},
              "template": {"metadata": {"labels": {"app": APP}}, "spec": {
                  "terminationGracePeriodSeconds": 2,
                  "containers": [{"name": "httpd", "image": "coxswain/demo:latest",
                                  "imagePullPolicy": "Never",
                                  "ports": [{"name": "http", "containerPort": 8080}],
                                  "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                     "periodSeconds": 1}}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": APP, "namespace": "default"},
     "spec": {"selector": {"app": APP}, "ports": [{"port": 80, "targetPort": "http"}]}},
]

# GETs URL until the file STOP exists, one JSON line per request to OUT:
# [start, end, ok, pod name or error] on the machine's monotonic clock.
# A failed request also records the DNAT targets in this namespace's proxy
# table then, and the conntrack entries that never saw a reply, to tell a
# stale rule, an unanswering pod and a stale entry apart. (After many timed-out
# connects the client's source ports wrap around; a port whose SYN_SENT entry
# to a dead pod was still there matched it and went to the dead pod again,
# whatever the table said, until netproxy learnt to delete such entries.)
# The timeout is longer than TCP's first SYN retransmission (1 s): a request
# sent to a dead pod never completes, but one whose first SYN was lost on its
# way to a live pod completes at ~1 s, as TCP means it to (with a 1 s timeout
# two such requests, between the endpoints' drop and the eviction, once
# failed CI).
CLIENT = r"""
import json, os, re, subprocess, sys, time, urllib.request
url, out, stop = sys.argv[1:4]
def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout
def targets():
    table = run("nft", "list", "table", "ip", "coxswain-proxy")
    return sorted(set(re.findall(r"dnat to ([0-9.:]+)", table)))
def unanswered():
    lines = run("conntrack", "-L", "-p", "tcp").splitlines()
    return [" ".join(l.split()) for l in lines if "UNREPLIED" in l][:5]
with open(out, "a", buffering=1) as f:
    while not os.path.exists(stop):
        t0 = time.monotonic()
        try:
            body = urllib.request.urlopen(url, timeout=3).read().decode().strip()
            ok = True
        except Exception as e:
            body = (f"{type(e).__name__}: {e} (proxy targets: {targets()}; "
                    f"unanswered conntrack entries: {unanswered()})")
            ok = False
        f.write(json.dumps([t0, time.monotonic(), ok, body]) + "\n")
        time.sleep(0.02)
"""


class Cluster(harness.Cluster):
    def containers(self, node: str, uids: set[str]) -> dict[str, dict]:
        """Every container (running or not) of these pods on ``node``: id -> inspect."""
        ids = self.docker(node, "ps", "-aq", "--no-trunc", "--filter",
                          f"label=io.coxswain.node={node}").split()
        found = json.loads(self.docker(node, "inspect", *ids)) if ids else []
        return {c["Id"]: c for c in found
                if (c["Config"].get("Labels") or {}).get(UID_LABEL) in uids}

    def up_again(self) -> float:
        """`cox cluster up` on the running cluster: starts what is missing."""
        t0 = time.monotonic()
        self.up(timeout=240)
        return time.monotonic() - t0

    def pods(self) -> list[dict]:
        return self.api.list("Pod", "default", label_selector=f"app={APP}")["items"]

    def lease_renewals(self, node: str) -> str:
        return self.api.get("Lease", node, "kube-node-lease")["spec"]["renewTime"]


def ready(obj: dict) -> str | None:
    conds = (obj.get("status") or {}).get("conditions") or []
    return next((c.get("status") for c in conds if c.get("type") == "Ready"), None)


def live_ready_pods(pods: list[dict]) -> list[dict]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and ready(p) == "True"]


def endpoint_ips(ep: dict) -> set[str]:
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}


def kill(pid: int) -> None:
    """SIGKILL one recorded pid, and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(pid) or
               psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10, 0.05, f"pid {pid} to die")


def unanswered_to(netns: str, ips: set[str]) -> list[str]:
    """TCP conntrack entries in ``netns`` whose SYN one of ``ips`` never answered."""
    out = subprocess.run(["ip", "netns", "exec", netns, "conntrack", "-L", "-p", "tcp"],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return [" ".join(line.split()) for line in out.splitlines() if "[UNREPLIED]" in line
            and any(f"src={ip} " in line.split("[UNREPLIED]")[1] for ip in ips)]


def set_link(ifname: str, state: str) -> None:
    subprocess.run(["ip", "link", "set", "dev", ifname, state], check=True, timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"{PREFIX}-" not in left, f"a {PREFIX} cluster is already up: {left}"
    c = Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c, harness.no_netns):
        c.apply(*WORKLOAD)
        c.cox("rollout", "status", f"deploy/{APP}", "--timeout", "120s", timeout=150)
        yield c


def spread_over_both_nodes(c: Cluster) -> list[dict]:
    """Wait for the Deployment's 4 pods, Ready, on both nodes (a lost node must have some)."""
    def spread() -> list[dict] | None:
        pods = live_ready_pods(c.pods())
        on = {p["spec"]["nodeName"] for p in pods}
        return pods if len(pods) == REPLICAS and on == {"n1", "n2"} else None
    return wait_until(spread, 90, 0.5, f"{REPLICAS} ready pods on n1 and n2")


def snapshot(c: Cluster, uids: set[str], pods: list[dict] | None = None) -> dict[str, tuple]:
    """Per pod: (its containers' ids, their restart counts, Ready) as the API reports."""
    out = {}
    for p in c.pods() if pods is None else pods:
        if p["metadata"]["uid"] in uids:
            st = p.get("status") or {}
            out[p["metadata"]["uid"]] = (
                tuple(sorted(s.get("containerID", "") for s in st.get("containerStatuses") or [])),
                tuple(s.get("restartCount") for s in st.get("containerStatuses") or []),
                ready(p))
    return out


def test_agent_killed_alone_pods_keep_running_and_are_readopted(cluster):
    c = cluster
    pods = [p for p in spread_over_both_nodes(c) if p["spec"]["nodeName"] == "n1"]
    uids = {p["metadata"]["uid"] for p in pods}
    before = snapshot(c, uids)
    on_docker = c.containers("n1", uids)
    started = {cid: i["State"]["StartedAt"] for cid, i in on_docker.items()}
    assert all(i["State"]["Running"] for i in on_docker.values())

    old_pid = c.node("n1")["pids"]["agent"]
    kill(old_pid)
    now = c.containers("n1", uids)
    assert {cid: i["State"]["StartedAt"] for cid, i in now.items()} == started
    assert all(i["State"]["Running"] for i in now.values()), "containers died with the agent"

    took = c.up_again()
    new_pid = c.node("n1")["pids"]["agent"]
    assert new_pid and new_pid != old_pid
    assert c.node("n2")["pids"]["agent"] and c.node("n1")["pids"]["dockerd"]

    # Sample until the new agent has renewed its lease twice (it has run its sync
    # loop for seconds by then): nothing restarted, replaced or unready meanwhile.
    first = c.lease_renewals("n1")
    renewals = {first}
    samples: list[tuple[dict, dict]] = []

    seen: list[tuple] = []  # what each sample's list held, to explain a difference

    def two_renewals() -> bool:
        listed = c.api.list("Pod", "default", label_selector=f"app={APP}")
        seen.append((listed["metadata"].get("resourceVersion"),
                     [(p["metadata"]["name"], p["metadata"]["uid"], p["spec"].get("nodeName"))
                      for p in listed["items"]]))
        samples.append((snapshot(c, uids, listed["items"]),
                        {cid: (i["State"]["StartedAt"], i["State"]["Running"])
                         for cid, i in c.containers("n1", uids).items()}))
        renewals.add(c.lease_renewals("n1"))
        return len(renewals) >= 3
    wait_until(two_renewals, 30, 0.5, "two lease renewals by the restarted agent")
    for i, (api, docker) in enumerate(samples):
        assert api == before, (f"sample {i} of {len(samples)}", before, api, seen[i])
        assert docker == {cid: (s, True) for cid, s in started.items()}
    assert ready(c.api.get("Node", "n1", None)) == "True"
    print(f"\nagent killed alone: {len(uids)} pods, {len(started)} containers kept; "
          f"`cox cluster up` restarted the agent in {took:.1f}s; {len(samples)} samples over "
          "two lease renewals, none changed")


@dataclass
class Sample:
    at: float
    n1_ready: str | None
    pods: list[dict]
    endpoints: set[str]


@dataclass
class Sampler:
    """API state every 0.25 s on a thread, so timings come from what was seen."""
    c: Cluster
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                node = self.c.api.get("Node", "n1", None)
                pods = self.c.pods()
                ep = self.c.api.get("Endpoints", APP, "default")
                self.samples.append(Sample(t, ready(node), pods, endpoint_ips(ep)))
            except Exception as e:  # noqa: BLE001 - a master's hiccup is a missed sample
                self.errors.append(repr(e))
            self.stop.wait(0.25)

    def around(self, at: float) -> list[tuple[float, list[str], set[str]]]:
        """What the API showed from 2 s before ``at`` to 1 s after: (time, pods, endpoints)."""
        return [(round(s.at - at, 2),
                 [f"{p['metadata']['name']}@{p['spec'].get('nodeName')}:{ready(p)}"
                  for p in s.pods], s.endpoints)
                for s in self.samples if at - 2 <= s.at <= at + 1]

    def first(self, cond: Any, after: float) -> Sample:
        return wait_until(lambda: next((s for s in list(self.samples)
                                        if s.at >= after and cond(s)), None),
                          90, 0.2, f"a sample where {cond.__doc__}")


def test_node_lost_pods_move_client_recovers_and_stale_containers_go(cluster, tmp_path):
    c = cluster
    pods = spread_over_both_nodes(c)
    lost = {p["metadata"]["uid"]: p["status"]["podIP"] for p in pods
            if p["spec"]["nodeName"] == "n1"}
    stale = set(c.containers("n1", set(lost)))
    assert stale
    cip = c.api.get("Service", APP, "default")["spec"]["clusterIP"]
    out, stop = tmp_path / "client.jsonl", tmp_path / "stop"
    ns = c.node("n2")["netns"]
    client = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", sys.executable, "-c",
                               CLIENT, f"http://{cip}/", str(out), str(stop)])
    sampler = Sampler(c)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()

    def requests() -> list[list]:
        return [json.loads(line) for line in out.read_text().splitlines() if line.endswith("]")]
    try:
        wait_until(lambda: sum(r[2] for r in requests()) >= 20, 30, 0.2, "a client baseline")
        n1 = c.node("n1")
        t_kill = time.monotonic()
        kill(n1["pids"]["agent"])
        kill(n1["pids"]["dockerd"])
        set_link(f"{PREFIX}-n1-h", "down")

        def not_ready(s: Sample) -> bool:
            """n1 is Ready=Unknown"""
            return s.n1_ready == "Unknown"

        def dropped(s: Sample) -> bool:
            """the Endpoints list no pod of n1"""
            return not (s.endpoints & set(lost.values())) and bool(s.endpoints)

        def evicted(s: Sample) -> bool:
            """no pod of n1 is left"""
            return not {p["metadata"]["uid"] for p in s.pods} & set(lost)

        def replaced(s: Sample) -> bool:
            """4 ready pods, all on n2, all in the Endpoints"""
            live = live_ready_pods(s.pods)
            return (len(live) == REPLICAS and {p["spec"]["nodeName"] for p in live} == {"n2"}
                    and s.endpoints == {p["status"]["podIP"] for p in live})
        s_nr = sampler.first(not_ready, t_kill)
        s_drop = sampler.first(dropped, t_kill)
        s_evict = sampler.first(evicted, t_kill)
        s_repl = sampler.first(replaced, s_evict.at)
        assert s_drop.at <= s_evict.at and s_nr.at <= s_evict.at
        assert s_evict.at - s_nr.at >= EVICTION - 1.0, "evicted before the eviction timeout"
        # Every sample before NotReady still lists n1's pods (nothing acted early).
        assert all(set(lost) <= {p["metadata"]["uid"] for p in s.pods}
                   for s in sampler.samples if t_kill <= s.at < s_nr.at)

        # The client: after the Endpoints dropped n1's pods it must get a clean run.
        def recovered() -> float | None:
            reqs = [r for r in requests() if r[0] >= s_drop.at]
            for i, r in enumerate(reqs):
                run = reqs[i:i + 30]
                if len(run) == 30 and all(x[2] for x in run):
                    return float(r[0])
            return None
        t_ok = wait_until(recovered, 60, 0.2, "30 successive requests after the drop")
        # The SYNs n1's pods never answered leave entries for two minutes; a
        # request from a reused source port would match one and go to n1 again.
        wait_until(lambda: not unanswered_to(ns, set(lost.values())), 10, 0.2,
                   "n2's proxy to delete the unanswered conntrack entries to n1's pods")
        wait_until(lambda: any(r[0] > s_repl.at for r in requests()), 30, 0.2,
                   "requests after the replacement")
    finally:
        stop.touch()
        client.wait(timeout=30)
        sampler.stop.set()
        thread.join(timeout=30)
    reqs = requests()
    failed = [r for r in reqs if not r[2]]
    late = [r for r in failed if r[0] >= t_ok]
    assert not late, (f"requests failed after the client recovered: {late[:5]}; "
                      f"endpoints around them: {sampler.around(late[0][0])}")
    assert not [r for r in failed if r[1] < t_kill], "failures before the node was lost"
    served_after = {r[3] for r in reqs if r[2] and r[0] >= t_ok}
    assert served_after and not served_after & {p["metadata"]["name"] for p in pods
                                                if p["metadata"]["uid"] in lost}
    outage = (max(r[1] for r in failed) - min(r[0] for r in failed)) if failed else 0.0
    slow = [round(r[1] - r[0], 2) for r in reqs if r[2] and r[0] >= t_ok and r[1] - r[0] > 0.5]

    # n1 returns: link up, dockerd (data root kept) and agent through `cox cluster up`.
    t_back = time.monotonic()
    took = c.up_again()
    assert ready(c.api.get("Node", "n1", None)) == "True"
    wait_until(lambda: not set(c.containers("n1", set(lost))), 60, 0.5,
               "the stale containers of the moved pods to be removed from n1")
    since = str(int(time.time() - (time.monotonic() - t_back) - 1))
    events = [json.loads(line) for line in c.docker(
        "n1", "events", "--since", since, "--until", str(int(time.time()) + 1),
        "--filter", "type=container", "--filter", "event=destroy",
        "--format", "{{json .}}").splitlines() if line.strip()]
    destroyed = {e["id"] for e in events}
    assert stale <= destroyed, f"not removed by the agent after the return: {stale - destroyed}"
    assert len(live_ready_pods(c.pods())) == REPLICAS
    print(f"\nnode lost: NotReady after {s_nr.at - t_kill:.1f}s (grace {GRACE:g}s), endpoints "
          f"dropped after {s_drop.at - t_kill:.1f}s, pods evicted after "
          f"{s_evict.at - t_kill:.1f}s (eviction timeout {EVICTION:g}s), replaced on n2 after "
          f"{s_repl.at - t_kill:.1f}s; client: {len(reqs)} requests, {len(failed)} failed, "
          f"outage {outage:.1f}s, recovered {t_ok - t_kill:.1f}s after the loss (then {len(slow)} "
          f"answers slower than 0.5 s: {slow[:5]}); "
          f"n1 back by `cox cluster up` in {took:.1f}s, {len(stale)} stale containers removed; "
          f"{len(sampler.samples)} samples ({len(sampler.errors)} missed)")
