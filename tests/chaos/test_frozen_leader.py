"""Chaos: the Raft leader is frozen (SIGSTOP) for longer than an election
timeout while clients write through every master and a Deployment is scaled
out, then thawed (SIGCONT).

Verdict, from recorded histories: the other two elect a leader whose
controllers and scheduler finish the scale-out; the thawed master steps down
and its controllers add nothing (at no sample more live pods than replicas);
no pod is ever seen bound to two nodes; every acknowledged write is on every
master and the stores are identical — so the requests the frozen master had
queued were either committed in the new term or refused, never acknowledged
and lost.
"""

from __future__ import annotations

import signal
import threading
from collections import defaultdict

import pytest

from coxapi import errors
from coxapi.client import Client
from tests.chaos.workload import check_history, history_run
from tests.fakekubelet import FakeKubelet
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos



def deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}}}}


class PodSampler(threading.Thread):
    """Every 100 ms: the live pods, and every node each pod was seen bound to."""

    def __init__(self, client: Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.peak = 0
        self.bound: dict[str, set[str]] = defaultdict(set)
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                pods = self.client.list("Pod", "default", label_selector="app=web")["items"]
            except (errors.ApiError, errors.ClusterUnreachable):
                pods = None
            for p in pods or []:
                if p["spec"].get("nodeName"):
                    self.bound[p["metadata"]["uid"]].add(p["spec"]["nodeName"])
            if pods is not None:
                live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
                self.peak = max(self.peak, len(live))
            self.stop_event.wait(0.1)


def available(client: Client, n: int) -> bool:
    d = client.get("Deployment", "web", "default")
    return (d["spec"]["replicas"] == n and d.get("status", {}).get("availableReplicas") == n
            and d["status"].get("observedGeneration") == d["metadata"]["generation"])


def test_a_frozen_leader_thawed_after_a_new_election_writes_nothing_stale(tmp_path):
    mc = MasterCluster.create(tmp_path)
    sampler = kubelet = None
    frozen = None
    with history_run(mc) as writers:
        hist = writers.hist
        try:
            client = mc.client()
            kubelet = FakeKubelet(mc.client(), ["f1", "f2"]).start()
            client.create(deployment(4))
            wait_until(lambda: available(client, 4), 60, 0.2, "4 pods available")
            writers.start_on(mc, mc.masters, per_master=2, timeout=3)
            wait_until(lambda: len(hist.versions) >= 100, 30, 0.02, "writes before the freeze")

            frozen = wait_until(mc.leader, 15, 0.05, "a leader")
            assert frozen.proc is not None
            term = frozen.raft_status(mc.token)["term"]
            others = mc.client_at(*(m for m in mc.masters if m is not frozen), timeout=3)
            sampler = PodSampler(others)
            sampler.start()
            frozen.proc.signal(signal.SIGSTOP)
            new = wait_until(lambda: next((m for m in mc.masters if m is not frozen
                                           and m.raft_status(mc.token)["role"] == "leader"), None),
                             15, 0.05, "a leader among the other two")
            assert new.raft_status(mc.token)["term"] > term
            d = others.get("Deployment", "web", "default")
            d["spec"]["replicas"] = 8
            others.update(d)
            wait_until(lambda: available(others, 8), 60, 0.2, "the new leader to scale out to 8")
            wait_until(lambda: len(hist.versions) >= 300, 30, 0.02, "writes during the freeze")
            frozen.proc.signal(signal.SIGCONT)
            wait_until(lambda: frozen.raft_status(mc.token)["role"] == "follower", 15, 0.1,
                       "the thawed master to step down")
            n = len(hist.versions)
            wait_until(lambda: len(hist.versions) >= n + 100, 30, 0.02, "writes after the thaw")
            writers.stop()
            wait_until(lambda: available(client, 8), 30, 0.2, "8 pods available after the thaw")
            sampler.stop_event.set()
            sampler.join(5)

            check_history(hist, {m.name: mc.client_at(m, timeout=5) for m in mc.masters})
            twice = {uid: nodes for uid, nodes in sampler.bound.items() if len(nodes) > 1}
            assert not twice, f"pods bound to two nodes: {twice}"
            assert sampler.peak <= 8, f"{sampler.peak} live pods at once (replicas 8)"
            pods = client.list("Pod", "default", label_selector="app=web")["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            assert len(live) == 8
            print(f"\nchaos: {frozen.name} frozen, {new.name} elected; {len(hist.versions)} "
                  f"acknowledged writes ({len(hist.unknown_creates)} + {hist.unknown_increments} "
                  f"unknown), none lost; peak live pods {sampler.peak}; "
                  f"{len(sampler.bound)} pods, none bound twice")
        finally:
            if frozen is not None and frozen.proc is not None:
                frozen.proc.signal(signal.SIGCONT)
            if sampler is not None:
                sampler.stop_event.set()
            if kubelet is not None:
                kubelet.stop()
