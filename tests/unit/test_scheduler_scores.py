"""Scores and the final choice of ``schedule``."""

from __future__ import annotations

import random

from master.controllers.testing import node, pod
from master.scheduler import scores
from master.scheduler.core import Binding, schedule
from master.scheduler.snapshot import NodeInfo, Snapshot

OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1",
         "controller": True}


def test_least_allocated_prefers_the_emptier_node():
    busy = NodeInfo(node("busy"))
    busy.add_pod(pod("x", cpu="3", memory="6Gi", node_name="busy"))
    empty = NodeInfo(node("empty"))
    s = scores.least_allocated(pod("p", cpu="100m", memory="100Mi"), [busy, empty])
    assert s[1] > s[0]


def test_balanced_allocation_prefers_equal_cpu_and_memory_fractions():
    cpu_heavy = NodeInfo(node("a"))
    cpu_heavy.add_pod(pod("x", cpu="3", memory="1Gi", node_name="a"))
    balanced = NodeInfo(node("b"))
    balanced.add_pod(pod("y", cpu="2", memory="4Gi", node_name="b"))
    s = scores.balanced_allocation(pod("p", cpu="100m", memory="100Mi"), [cpu_heavy, balanced])
    assert s[1] > s[0]


def test_spread_lowers_nodes_holding_replicas_of_the_same_owner():
    a, b = NodeInfo(node("a")), NodeInfo(node("b"))
    a.add_pod(pod("r1", node_name="a", owner=OWNER))
    assert scores.spread(pod("r2", owner=OWNER), [a, b]) == [0, 100]
    assert scores.spread(pod("other"), [a, b]) == [100, 100]


def test_prefer_no_schedule_taint_lowers_the_score_unless_tolerated():
    tainted = NodeInfo(node("a", taints=[{"key": "slow", "effect": "PreferNoSchedule"}]))
    clean = NodeInfo(node("b"))
    assert scores.taint_toleration(pod("p"), [tainted, clean]) == [0, 100]
    tolerant = pod("p", tolerations=[{"key": "slow", "operator": "Exists"}])
    assert scores.taint_toleration(tolerant, [tainted, clean]) == [100, 100]


def test_replicas_spread_over_nodes():
    snap = Snapshot.build([node("a"), node("b"), node("c")], [])
    placed = []
    for i in range(3):
        p = pod(f"r{i}", cpu="100m", owner=OWNER)
        result = schedule(p, snap)
        assert isinstance(result, Binding)
        p["spec"]["nodeName"] = result.node
        snap.set_pod(p)
        placed.append(result.node)
    assert sorted(placed) == ["a", "b", "c"]


def test_ties_are_broken_by_name_without_rng_and_reproducibly_with_a_seed():
    snap = Snapshot.build([node(n) for n in ("c", "a", "b")], [])
    assert schedule(pod("p"), snap) == Binding("a", schedule(pod("p"), snap).score)
    picks = [schedule(pod("p"), snap, random.Random(7)).node for _ in range(1)]
    again = [schedule(pod("p"), snap, random.Random(7)).node for _ in range(1)]
    assert picks == again
    seen = {schedule(pod("p"), snap, random.Random(s)).node for s in range(20)}
    assert seen == {"a", "b", "c"}  # a seeded RNG does pick among all the tied nodes


def test_preferred_affinity_wins_over_an_otherwise_equal_node():
    snap = Snapshot.build([node("a"), node("b", labels={"disk": "ssd"})], [])
    p = pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}})
    assert schedule(p, snap).node == "b"


def test_a_decision_computes_the_pods_requests_once_not_per_node(monkeypatch):
    from master.scheduler import resources
    calls: list[bool] = []
    real = resources._pod_requests

    def counting(p: dict, non_zero: bool) -> resources.Resources:
        if p["metadata"]["name"] == "new":
            calls.append(non_zero)
        return real(p, non_zero)
    monkeypatch.setattr(resources, "_pod_requests", counting)
    snap = Snapshot.build([node(f"n{i}") for i in range(20)],
                          [pod(f"old{i}", cpu="1", node_name=f"n{i}") for i in range(20)])
    new = pod("new", cpu="500m", memory="1Gi")
    assert isinstance(schedule(new, snap), Binding)
    assert sorted(calls) == [False, True]  # plain and non-zero, once each
    # Outside a decision nothing is held: the pod is computed afresh.
    assert resources.pod_requests(new) == resources.Resources(500, 2**30)
    assert len(calls) == 3
