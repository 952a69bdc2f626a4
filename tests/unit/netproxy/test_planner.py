"""The incremental planner: the same plan as planning from scratch, after any
sequence of changes, while re-planning only the Services that changed."""

from __future__ import annotations

import copy
import random

import pytest

from netproxy.delta import diff, from_change
from netproxy.plan import (
    Planner,
    _Contents,
    build_plan,
    stale_flows,
    stale_flows_of,
)
from tests.unit.netproxy.test_delta import KernelModel


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


# ---- Planner.update: only the Services that changed are handed over --------------

IPS = [f"10.244.0.{i}" for i in range(2, 10)]


def random_service(rng: random.Random, name: str) -> dict:
    """A Service with one or two ports, TCP or UDP, sometimes headless or
    ExternalName, now and then a port that cannot be proxied, and now and
    then a ClusterIP or nodePort that another Service may have too (a clash)."""
    i = int(name[1:])
    kind = rng.choice(["ClusterIP", "ClusterIP", "NodePort", "ExternalName"])
    ports = []
    for j in range(rng.randint(1, 2)):
        p = {"name": f"p{j}", "port": rng.choice([80, 81]) + 100 * j, "targetPort": 8080,
             "protocol": rng.choice(["TCP", "UDP", "TCP", "SCTP" if rng.random() < 0.05 else "UDP"])}
        if kind == "NodePort":
            p["nodePort"] = 30001 if rng.random() < 0.2 else 30100 + 2 * i + j
        ports.append(p)
    ip = rng.choice([None, "10.96.0.1", "10.96.0.1"] + [f"10.96.1.{i + 1}"] * 7)
    return {"metadata": {"name": name, "namespace": "d"},
            "spec": {"type": kind, "clusterIP": ip, "ports": ports}}


def random_endpoints(rng: random.Random, name: str) -> dict:
    subsets = []
    for proto in ("TCP", "UDP"):
        if rng.random() < 0.7:
            subsets.append({"addresses": [{"ip": i} for i in rng.sample(IPS, rng.randint(0, 3))],
                            "notReadyAddresses": [{"ip": "10.244.9.9"}],
                            "ports": [{"name": f"p{j}", "port": 8080 + j, "protocol": proto}
                                      for j in range(2)]})
    return {"metadata": {"name": name, "namespace": "d"}, "subsets": subsets}


@pytest.mark.parametrize("seed", range(40))
def test_updates_with_only_the_changed_services_give_the_plan_of_a_fresh_start(seed):
    # After every step of a random walk (Services added, removed, changed,
    # clashing; Endpoints changed and removed; node addresses changed), the
    # plan from handing the planner only the touched keys equals build_plan
    # of everything, and its change (when it gives one) edits a model of the
    # kernel table into it and finds the same stale UDP flows as whole plans.
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(12)]
    services = {n: random_service(rng, n) for n in rng.sample(names, 6)}
    endpoints = {n: random_endpoints(rng, n) for n in names if rng.random() < 0.7}
    node_ips = ["10.0.0.1"]
    planner = Planner()
    previous = planner.plan(services.values(), endpoints.values(), node_ips)
    model = KernelModel(previous)
    changes = clashes = 0
    heal: dict[int, str] = {}  # step -> a clashing copy to remove then
    for step in range(50):
        touched = set()
        if step in heal:
            services.pop(heal[step], None)
            touched.add(heal[step])
        for _ in range(rng.randint(1, 3)):
            name, what = rng.choice(names), rng.random()
            touched.add(name)
            if what < 0.2:
                services.pop(name, None)
            elif what < 0.4:
                services[name] = random_service(rng, name)
            elif what < 0.5 and services:  # another Service's ports and addresses: a clash
                services[name] = copy.deepcopy(rng.choice(list(services.values())))
                services[name]["metadata"]["name"] = name
                heal[step + rng.randint(1, 4)] = name
            elif what < 0.6 and name in services:  # one port changes, the object is new
                services[name] = copy.deepcopy(services[name])
                services[name]["spec"]["ports"][0]["port"] = rng.choice([80, 81, 82, 83])
            elif what < 0.8:
                endpoints[name] = random_endpoints(rng, name)
            elif what < 0.9:
                endpoints.pop(name, None)
            elif what < 0.95:
                node_ips = rng.choice([["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], [], ["bad"]])
            # else: touched, but nothing changed (a resync, a status update)
        got = planner.update({("d", n): ((services[n],) if n in services else (),
                                         endpoints.get(n)) for n in touched}, node_ips)
        fresh = Planner()
        want = fresh.plan(services.values(), endpoints.values(), node_ips)
        assert got == want
        assert sorted(got.notes) == sorted(want.notes)
        clashes += "already used" in " ".join(want.notes)
        # a claim left behind would send later updates the slow way round
        assert planner._contents.claims == fresh._contents.claims
        change = planner.change
        if change is not None:
            changes += 1
            assert change.previous is previous
            assert stale_flows_of(change) == stale_flows(previous, got)
            delta = from_change(change, got)
        else:
            delta = diff(previous, got)
        if delta is None:  # the hooked chains differ: a full replace
            model = KernelModel(got)
        else:
            model.apply(delta)
        assert model.same_as(got)
        previous = got
    assert changes and clashes, (changes, clashes)


def test_update_needs_a_plan_first_and_a_failure_makes_it_start_over(monkeypatch):
    planner = Planner()
    with pytest.raises(RuntimeError):
        planner.update({("ns", "s1"): ((svc(1),), None)})
    planner.plan([svc(1), svc(2)], [eps(1, 1)], [])

    def broken(*_):
        raise OSError("injected")
    monkeypatch.setattr(_Contents, "put", broken)
    with pytest.raises(OSError):
        planner.update({("ns", "s3"): ((svc(3),), None)})
    monkeypatch.undo()
    assert not planner.has_plan  # half updated: forgotten, so the caller plans in full
    assert planner.plan([svc(1), svc(3)], [], []) == build_plan([svc(1), svc(3)], [], [])
    assert planner.change is None
