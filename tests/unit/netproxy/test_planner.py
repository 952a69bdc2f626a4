"""The incremental planner: the same plan as planning from scratch, after any
sequence of changes, while re-planning only the Services that changed."""

from __future__ import annotations

import copy
import random

from netproxy.delta import diff
from netproxy.plan import Planner, build_plan


def svc(i: int, port: int = 80, ip: str | None = None, node_port: int | None = None) -> dict:
    p = {"name": "http", "port": port, "protocol": "UDP" if i % 5 == 0 else "TCP"}
    if node_port:
        p["nodePort"] = node_port
    return {"metadata": {"name": f"s{i}", "namespace": "ns"},
            "spec": {"type": "NodePort" if node_port else "ClusterIP",
                     "clusterIP": ip or f"10.96.0.{i + 1}", "ports": [p]}}


def eps(i: int, n: int) -> dict:
    return {"metadata": {"name": f"s{i}", "namespace": "ns"},
            "subsets": [{"addresses": [{"ip": f"10.244.{i}.{k + 1}"} for k in range(n)],
                         "ports": [{"name": "http", "port": 8080,
                                    "protocol": "UDP" if i % 5 == 0 else "TCP"}]}]}


def test_unchanged_objects_are_not_planned_again_and_chains_are_shared():
    services = [svc(i) for i in range(20)]
    endpoints = [eps(i, 2) for i in range(20)]
    planner = Planner()
    first = planner.plan(services, endpoints, ["10.0.0.1"])
    assert planner.planned == 20
    services[3] = svc(3, port=81)
    second = planner.plan(services, endpoints, ["10.0.0.1"])
    assert planner.planned == 21  # only s3
    assert second == build_plan(services, endpoints, ["10.0.0.1"])
    shared = {id(c) for c in first.chains} & {id(c) for c in second.chains}
    assert len(shared) >= len(first.chains) - 8 - 3  # all but the fixed ones and s3's
    delta = diff(first, second)
    assert delta is not None and delta.size() == 2  # s3's map element, out and in


def test_equal_copies_are_reused_too():
    services = [svc(i) for i in range(5)]
    planner = Planner()
    planner.plan(services, [], [])
    planner.plan(copy.deepcopy(services), [], [])  # a relist hands out new objects
    assert planner.planned == 5


def test_random_changes_give_the_plan_of_a_fresh_start():
    rng = random.Random(7)
    services = {i: svc(i) for i in range(30)}
    endpoints = {i: eps(i, 1) for i in range(30)}
    planner = Planner()
    for _ in range(200):
        i = rng.randrange(40)
        match rng.randrange(5):
            case 0:
                services[i] = svc(i, port=rng.choice([80, 81]))
            case 1:  # clashes on a ClusterIP:port or a nodePort: the first in order wins
                services[i] = svc(i, ip=f"10.96.0.{rng.randrange(1, 4)}",
                                  node_port=rng.choice([None, 30001, 30002]))
            case 2:
                endpoints[i] = eps(i, rng.randrange(4))
            case 3:
                services.pop(i, None)
            case 4:
                endpoints.pop(i, None)
        got = planner.plan(list(services.values()), list(endpoints.values()), ["10.0.0.1"])
        want = build_plan(list(services.values()), list(endpoints.values()), ["10.0.0.1"])
        assert got == want
        assert sorted(got.notes) == sorted(want.notes)
