"""Incremental edits between plans: applied to a model of the kernel table
(with the kernel's rules: no dangling references, no deleting a chain in
use, no duplicate objects), they must give exactly the new plan."""

from __future__ import annotations

import random

import pytest

from netproxy.delta import diff, from_change
from netproxy.plan import (
    NO_ENDPOINT_SERVICES,
    SERVICE_IPS,
    AddrSet,
    Goto,
    Jump,
    Plan,
    Planner,
    VerdictMap,
    build_plan,
)


class KernelModel:
    """A table as the kernel keeps it, edited the way a batch edits it."""

    def __init__(self, plan: Plan) -> None:
        self.chains = {c.name: list(c.rules) for c in plan.chains}
        self.hooks = {c.name: c.hook for c in plan.chains}
        self.sets = {s.name: dict(_items(s)) for s in (*plan.sets, *plan.maps)}

    def targets(self) -> list[str]:
        out = [st.chain for rules in self.chains.values() for r in rules for st in r
               if isinstance(st, Goto | Jump)]
        out += [v for s in self.sets.values() for v in s.values() if isinstance(v, str)]
        return out

    def apply(self, delta) -> None:
        for name in delta.flush_chains:
            assert name in self.chains, f"flush of missing chain {name}"
            self.chains[name] = []
        for s in delta.del_elements:
            for key, _ in _items(s):
                assert key in self.sets[s.name], f"delete of missing element {key}"
                del self.sets[s.name][key]
        for name in delta.del_chains:
            assert not self.chains[name], f"chain {name} still has rules"
            assert name not in self.targets(), f"chain {name} still referenced"
            del self.chains[name], self.hooks[name]
        for c in delta.add_chains:
            assert c.name not in self.chains, f"chain {c.name} exists"
            self.chains[c.name], self.hooks[c.name] = [], c.hook
        for s in delta.add_elements:
            for key, value in _items(s):
                assert key not in self.sets[s.name], f"element {key} exists"
                self.sets[s.name][key] = value
        for c in delta.add_rules:
            self.chains[c.name].extend(c.rules)
        dangling = set(self.targets()) - set(self.chains)
        assert not dangling, f"references to missing chains {dangling}"

    def same_as(self, plan: Plan) -> bool:
        other = KernelModel(plan)
        return (self.chains, self.hooks, self.sets) == (other.chains, other.hooks, other.sets)


def _items(s: VerdictMap | AddrSet):
    if isinstance(s, VerdictMap):
        return [(k, c) for k, c in s.elements]
    return [(e, True) for e in s.elements]


def svc(name, ip, node_port=None, proto="TCP"):
    port = {"name": "p", "port": 80, "protocol": proto, "targetPort": 8080}
    if node_port:
        port["nodePort"] = node_port
    return {"metadata": {"name": name, "namespace": "d"},
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "clusterIP": ip,
                     "ports": [port]}}


def eps(name, ips, proto="TCP"):
    return {"metadata": {"name": name, "namespace": "d"},
            "subsets": [{"addresses": [{"ip": i} for i in ips],
                         "ports": [{"name": "p", "port": 8080, "protocol": proto}]}]}


def check(old: Plan, new: Plan):
    delta = diff(old, new)
    assert delta is not None
    model = KernelModel(old)
    model.apply(delta)
    assert model.same_as(new)
    return delta


def test_identical_plans_need_no_edit():
    plan = build_plan([svc("a", "10.96.0.1")], [eps("a", ["10.244.0.2"])], ["10.0.0.1"])
    assert diff(plan, plan).empty()


def test_endpoint_swap_touches_only_that_service():
    old = build_plan([svc("a", "10.96.0.1"), svc("b", "10.96.0.2")],
                     [eps("a", ["10.244.0.2"]), eps("b", ["10.244.0.9"])])
    new = build_plan([svc("a", "10.96.0.1"), svc("b", "10.96.0.2")],
                     [eps("a", ["10.244.0.3"]), eps("b", ["10.244.0.9"])])
    delta = check(old, new)
    assert delta.del_chains == ("ep-d/a/tcp/p/10.244.0.2:8080",)
    assert [c.name for c in delta.add_chains] == ["ep-d/a/tcp/p/10.244.0.3:8080"]
    assert delta.flush_chains == ("ep-d/a/tcp/p/10.244.0.2:8080", "svc-d/a/tcp/p")
    assert not delta.del_elements and not delta.add_elements  # the VIP still goes to svc-d/a


def test_losing_all_endpoints_moves_the_vip_to_the_reject_map():
    old = build_plan([svc("a", "10.96.0.1")], [eps("a", ["10.244.0.2"])])
    new = build_plan([svc("a", "10.96.0.1")], [eps("a", [])])
    delta = check(old, new)
    assert [s.name for s in delta.del_elements] == [SERVICE_IPS]
    assert [s.name for s in delta.add_elements] == [NO_ENDPOINT_SERVICES]


def test_changed_base_chains_or_table_need_a_full_replace():
    plan = build_plan([], [], ["10.0.0.1"])
    import dataclasses

    from netproxy.plan import Chain, Hook
    other_hook = dataclasses.replace(plan, chains=tuple(
        Chain(c.name, c.rules, Hook(c.hook.hook, c.hook.type, c.hook.priority + 1))
        if c.hook else c for c in plan.chains))
    assert diff(plan, other_hook) is None
    assert diff(plan, dataclasses.replace(plan, table="other")) is None


def test_node_addresses_appearing_is_an_edit_not_a_rebuild():
    check(build_plan([svc("a", "10.96.0.1", 30001)], [eps("a", ["10.244.0.2"])], []),
          build_plan([svc("a", "10.96.0.1", 30001)], [eps("a", ["10.244.0.2"])], ["10.0.0.1"]))


@pytest.mark.parametrize("shared", [False, True], ids=["fresh-plans", "one-planner"])
@pytest.mark.parametrize("seed", range(30))
def test_random_change_sequences_end_at_the_new_plan(seed, shared):
    # One Planner shares unchanged chains between its plans, which the diff
    # relies on to look at the changed ones only; fresh plans share nothing.
    rng = random.Random(seed)
    planner = Planner()
    ips = [f"10.244.0.{i}" for i in range(2, 12)]

    def random_state():
        services, endpoints = [], []
        for i in range(rng.randint(0, 8)):
            proto = rng.choice(["TCP", "UDP"])
            services.append(svc(f"s{i}", f"10.96.0.{i + 1}",
                                rng.choice([None, 30000 + i]), proto))
            if rng.random() < 0.9:
                endpoints.append(eps(f"s{i}", rng.sample(ips, rng.randint(0, 4)), proto))
        node_ips = rng.choice([[], ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"]])
        if shared:
            return planner.plan(services, endpoints, node_ips)
        return build_plan(services, endpoints, node_ips)

    model_plan = random_state()
    model = KernelModel(model_plan)
    for _ in range(10):
        new = random_state()
        delta = diff(model_plan, new)
        assert delta is not None
        model.apply(delta)
        assert model.same_as(new)
        model_plan = new


@pytest.mark.parametrize("seed", range(40))
def test_edits_from_the_planners_change_end_at_the_new_plan(seed):
    # The same random walk, some Services sharing a ClusterIP or nodePort (a
    # clash: then the planner gives no change), each step's edits found from
    # the planner's change whenever it gives one.
    rng = random.Random(seed)
    planner = Planner()
    ips = [f"10.244.0.{i}" for i in range(2, 12)]
    services = {f"s{i}": svc(f"s{i}", f"10.96.0.{i + 1}") for i in range(6)}
    endpoints = {f"s{i}": eps(f"s{i}", ips[:2]) for i in range(6)}
    node_ips = ["10.0.0.1"]
    model_plan = planner.plan(services.values(), endpoints.values(), node_ips)
    model = KernelModel(model_plan)
    used = 0
    for _ in range(15):
        for _ in range(rng.randint(1, 3)):  # a few objects change, the others stay the same
            i = rng.randint(0, 8)
            name, what = f"s{i}", rng.random()
            if what < 0.3:
                services.pop(name, None)
            elif what < 0.6:
                clash = rng.random() < 0.1
                services[name] = svc(name, "10.96.0.1" if clash else f"10.96.0.{i + 1}",
                                     rng.choice([None, 30000 + i, 30000 if clash else None]),
                                     rng.choice(["TCP", "UDP"]))
            elif what < 0.9:
                proto = services[name]["spec"]["ports"][0]["protocol"] if name in services \
                    else "TCP"
                endpoints[name] = eps(name, rng.sample(ips, rng.randint(0, 4)), proto)
            else:
                node_ips = rng.choice([["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], []])
        new = planner.plan(services.values(), endpoints.values(), node_ips)
        change = planner.change
        if change is not None:
            assert change.previous is model_plan
            delta = from_change(change, new)
            used += 1
        else:
            delta = diff(model_plan, new)
        assert delta is not None
        model.apply(delta)
        assert model.same_as(new)
        model_plan = new
    assert used, "the planner never described a change"


def test_the_planner_gives_no_change_for_its_first_plan_or_a_clash():
    planner = Planner()
    planner.plan([svc("a", "10.96.0.1")], [], ["10.0.0.1"])
    assert planner.change is None
    planner.plan([svc("a", "10.96.0.1"), svc("b", "10.96.0.2")], [], ["10.0.0.1"])
    assert planner.change is not None and len(planner.change.after) == 1
    planner.plan([svc("a", "10.96.0.1"), svc("b", "10.96.0.1")], [], ["10.0.0.1"])
    assert planner.change is None
