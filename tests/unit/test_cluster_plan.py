"""The local cluster's plans: what up creates and down removes, given what exists."""

from __future__ import annotations

from pathlib import Path

from localcluster.plan import Observed, Step, conflict, owner_tag, plan_down, plan_up
from localcluster.spec import ClusterSpec

SPEC = ClusterSpec(dir=Path("/tmp/c"), masters=3, nodes=2)


def actions(steps: list[Step]) -> list[str]:
    return [str(s) for s in steps]


def fully_up(spec: ClusterSpec = SPEC) -> Observed:
    nodes = spec.all_nodes()
    return Observed(
        links=frozenset({"lo", "eth0", spec.bridge, *(n.veth_host for n in nodes)}),
        netns=frozenset(n.netns for n in nodes),
        blackholes=frozenset(spec.blackholes),
        tables=frozenset({spec.seal_table}),
        forward_filter=True, forward_allowed=True,
        live=frozenset([f"master/{m.name}" for m in spec.all_masters()]
                       + [f"{r}/{n.name}" for n in nodes for r in ("dockerd", "agent")]))


def test_up_on_a_bare_machine_creates_everything_in_dependency_order():
    steps = actions(plan_up(SPEC, Observed(links=frozenset({"lo", "eth0"}), forward_filter=True)))
    assert steps == [
        "create-bridge cox0", "configure-bridge cox0", "create-seal coxswain-seal",
        "add-blackhole 10.244.0.0/16", "add-blackhole 10.96.0.0/16",
        "allow-bridge-forward cox0",
        "master-init", "start-master m1", "start-master m2", "start-master m3",
        "create-netns n1", "create-veth n1", "configure-node n1",
        "create-netns n2", "create-veth n2", "configure-node n2",
        "start-dockerd n1", "start-dockerd n2", "wait-dockerd n1", "wait-dockerd n2",
        "load-image coxswain/demo:latest",
        "start-agent n1", "start-agent n2", "wait-ready",
    ]


def test_up_twice_starts_and_creates_nothing_new():
    steps = plan_up(SPEC, fully_up())
    creating = [s for s in steps if s.action.startswith(("create-", "add-", "start-", "allow-"))]
    assert creating == []
    # only the steps that are idempotent by nature remain
    assert {s.action for s in steps} == {"configure-bridge", "master-init", "configure-node",
                                         "wait-dockerd", "load-image", "wait-ready"}


def test_up_restarts_only_the_dead_processes():
    seen = fully_up()
    seen = Observed(**{**seen.__dict__, "live": seen.live - {"master/m2", "agent/n1"}})
    starts = [str(s) for s in plan_up(SPEC, seen) if s.action.startswith("start-")]
    assert starts == ["start-master m2", "start-agent n1"]


def test_up_without_docker_filter_does_not_touch_the_host_firewall():
    steps = actions(plan_up(SPEC, Observed(forward_filter=False)))
    assert "allow-bridge-forward cox0" not in steps


def test_machinery_only_plan_has_no_control_plane():
    steps = plan_up(SPEC, Observed(), with_control_plane=False)
    assert not {"master-init", "start-master", "start-agent", "wait-ready"} & {
        s.action for s in steps}
    assert "load-image coxswain/demo:latest" in actions(steps)


def test_down_stops_agents_before_dockerds_and_masters_last_then_removes_what_exists():
    steps = actions(plan_down(SPEC, fully_up()))
    assert steps == [
        "stop-agent n1", "stop-agent n2", "stop-dockerd n1", "stop-dockerd n2",
        "reap-docker n1", "reap-docker n2",
        "stop-master m1", "stop-master m2", "stop-master m3",
        "delete-link cox-n1-h", "delete-link cox-n2-h",
        "delete-netns n1", "delete-netns n2",
        "delete-link cox0", "delete-seal coxswain-seal",
        "delete-blackhole 10.244.0.0/16", "delete-blackhole 10.96.0.0/16",
        "disallow-bridge-forward cox0", "remove-state",
    ]


def test_down_on_a_clean_machine_only_reaps_and_removes_state():
    steps = actions(plan_down(SPEC, Observed(links=frozenset({"lo"}))))
    assert steps == ["reap-docker n1", "reap-docker n2", "remove-state"]


def test_down_removes_each_host_veth_before_its_namespace():
    steps = actions(plan_down(SPEC, fully_up()))
    for n in ("n1", "n2"):
        assert steps.index(f"delete-link cox-{n}-h") < steps.index(f"delete-netns {n}")


def test_down_removes_a_veth_whose_namespace_is_already_gone():
    seen = Observed(links=frozenset({"cox-n2-h"}), netns=frozenset({"cox-n1"}))
    steps = actions(plan_down(SPEC, seen))
    assert "delete-netns n1" in steps
    assert "delete-link cox-n2-h" in steps
    assert "delete-link cox-n1-h" not in steps


def test_down_leaves_foreign_objects_alone():
    other = ClusterSpec(dir=Path("/tmp/t"), prefix="coxt", bridge="coxt0", subnet="10.251.0.0/24",
                        seal_table="coxt-seal", cluster_cidr="10.244.251.0/24",
                        service_cidr="10.96.251.0/24")
    # liveness is judged from the cluster's own cluster.json, so only the
    # kernel objects of the other cluster are in view here
    seen = Observed(**{**fully_up(SPEC).__dict__, "live": frozenset()})
    steps = actions(plan_down(other, seen))
    assert not [s for s in steps if s.startswith(("delete-", "stop-"))]


def test_a_bridge_owned_by_another_cluster_dir_is_a_conflict():
    seen = Observed(links=frozenset({"cox0"}), bridge_owner=owner_tag(SPEC))
    assert conflict(SPEC, seen) is None
    other = ClusterSpec(dir=Path("/elsewhere"))
    problem = conflict(other, seen)
    assert problem and "/tmp/c" in problem and "--prefix" in problem
    # an untagged or absent bridge is nobody's: up adopts it, down removes it
    assert conflict(other, Observed(links=frozenset({"cox0"}))) is None
    assert conflict(other, Observed(bridge_owner=owner_tag(SPEC))) is None


def test_down_without_cluster_json_keeps_routes_it_cannot_prove_are_its_own():
    seen = Observed(links=frozenset({"lo"}), blackholes=frozenset(SPEC.blackholes))
    steps = actions(plan_down(SPEC, seen, recorded=False))
    assert not [s for s in steps if s.startswith("delete-blackhole")]
    with_bridge = Observed(links=frozenset({"cox0"}), blackholes=frozenset(SPEC.blackholes))
    steps = actions(plan_down(SPEC, with_bridge, recorded=False))
    assert "delete-blackhole 10.96.0.0/16" in steps


def test_a_recreated_bridge_gets_a_new_seal():
    seen = Observed(**{**fully_up().__dict__, "links": fully_up().links - {"cox0"}})
    first = actions(plan_up(SPEC, seen))[:3]
    assert first == ["create-bridge cox0", "configure-bridge cox0", "create-seal coxswain-seal"]
