"""Each scheduler filter, table-driven: the rule, a pod, a node, the verdict."""

from __future__ import annotations

import pytest

from master.controllers.testing import node, pod
from master.scheduler import filters
from master.scheduler.core import Unschedulable, schedule
from master.scheduler.resources import pod_requests
from master.scheduler.snapshot import NodeInfo, Snapshot


def info(n, *bound):
    i = NodeInfo(n)
    for p in bound:
        i.add_pod(p)
    return i


def tol(key="", op="Equal", value="", effect=""):
    return {"key": key, "operator": op, "value": value, "effect": effect}


def taint(key, value="", effect="NoSchedule"):
    return {"key": key, "value": value, "effect": effect}


def expr(key, op, *values):
    return {"key": key, "operator": op, "values": list(values)}


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                             {"nodeSelectorTerms": list(terms)}}}


CASES = [
    # (rule, filter, pod, node info, expected reasons)
    ("ready node passes", filters.node_ready, pod("p"), info(node("n")), []),
    ("not-ready node is rejected", filters.node_ready, pod("p"), info(node("n", ready=False)),
     [filters.NOT_READY]),
    ("cordoned node is rejected", filters.node_schedulable, pod("p"),
     info(node("n", unschedulable=True)), [filters.UNSCHEDULABLE]),
    ("cordoned node admits a pod tolerating unschedulable", filters.node_schedulable,
     pod("p", tolerations=[tol(filters.UNSCHEDULABLE_TAINT, "Exists")]),
     info(node("n", unschedulable=True)), []),
    ("NoSchedule taint must be tolerated", filters.taints_tolerated, pod("p"),
     info(node("n", taints=[taint("gpu", "yes")])), ["node(s) had untolerated taint {gpu: yes}"]),
    ("NoExecute taint must be tolerated", filters.taints_tolerated, pod("p"),
     info(node("n", taints=[taint("node.kubernetes.io/unreachable", effect="NoExecute")])),
     ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"]),
    ("PreferNoSchedule taint does not filter", filters.taints_tolerated, pod("p"),
     info(node("n", taints=[taint("slow", effect="PreferNoSchedule")])), []),
    ("Equal toleration with matching value tolerates", filters.taints_tolerated,
     pod("p", tolerations=[tol("gpu", "Equal", "yes", "NoSchedule")]),
     info(node("n", taints=[taint("gpu", "yes")])), []),
    ("Equal toleration with another value does not tolerate", filters.taints_tolerated,
     pod("p", tolerations=[tol("gpu", "Equal", "no", "NoSchedule")]),
     info(node("n", taints=[taint("gpu", "yes")])), ["node(s) had untolerated taint {gpu: yes}"]),
    ("toleration for another effect does not tolerate", filters.taints_tolerated,
     pod("p", tolerations=[tol("gpu", "Exists", effect="NoExecute")]),
     info(node("n", taints=[taint("gpu", "yes")])), ["node(s) had untolerated taint {gpu: yes}"]),
    ("empty key with Exists tolerates everything", filters.taints_tolerated,
     pod("p", tolerations=[tol(op="Exists")]),
     info(node("n", taints=[taint("a"), taint("b", effect="NoExecute")])), []),
    ("nodeSelector matches labels", filters.node_affinity,
     pod("p", nodeSelector={"disk": "ssd"}), info(node("n", labels={"disk": "ssd"})), []),
    ("nodeSelector mismatch is rejected", filters.node_affinity,
     pod("p", nodeSelector={"disk": "ssd"}), info(node("n", labels={"disk": "hdd"})),
     [filters.AFFINITY_MISMATCH]),
    ("affinity In", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("zone", "In", "a", "b")]})),
     info(node("n", labels={"zone": "b"})), []),
    ("affinity NotIn", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("zone", "NotIn", "a", "b")]})),
     info(node("n", labels={"zone": "b"})), [filters.AFFINITY_MISMATCH]),
    ("affinity NotIn matches a node without the label", filters.node_affinity,
     pod("p", affinity=required({"matchExpressions": [expr("zone", "NotIn", "a")]})),
     info(node("n")), []),
    ("affinity Exists", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("gpu", "Exists")]})), info(node("n")),
     [filters.AFFINITY_MISMATCH]),
    ("affinity DoesNotExist", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("gpu", "DoesNotExist")]})), info(node("n")), []),
    ("affinity Gt compares integers", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("cores", "Gt", "8")]})),
     info(node("n", labels={"cores": "16"})), []),
    ("affinity Lt compares integers", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("cores", "Lt", "8")]})),
     info(node("n", labels={"cores": "16"})), [filters.AFFINITY_MISMATCH]),
    ("affinity terms are ORed", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("zone", "In", "x")]},
        {"matchExpressions": [expr("zone", "In", "a")]})),
     info(node("n", labels={"zone": "a"})), []),
    ("affinity expressions of one term are ANDed", filters.node_affinity, pod("p", affinity=required(
        {"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "ssd")]})),
     info(node("n", labels={"zone": "a"})), [filters.AFFINITY_MISMATCH]),
    ("affinity matchFields on metadata.name", filters.node_affinity, pod("p", affinity=required(
        {"matchFields": [expr("metadata.name", "In", "n")]})), info(node("n")), []),
    ("empty nodeSelectorTerms match nothing", filters.node_affinity,
     pod("p", affinity=required()), info(node("n")), [filters.AFFINITY_MISMATCH]),
    ("cpu request fits free allocatable", filters.resources_fit, pod("p", cpu="1"),
     info(node("n", cpu="2"), pod("a", cpu="1", node_name="n")), []),
    ("cpu request beyond free allocatable", filters.resources_fit, pod("p", cpu="1100m"),
     info(node("n", cpu="2"), pod("a", cpu="1", node_name="n")), ["Insufficient cpu"]),
    ("memory and cpu both reported", filters.resources_fit, pod("p", cpu="3", memory="9Gi"),
     info(node("n", cpu="2", memory="8Gi")), ["Insufficient cpu", "Insufficient memory"]),
    ("terminated pods hold no resources", filters.resources_fit, pod("p", cpu="2"),
     info(node("n", cpu="2")), []),
    ("pod count limited by allocatable pods", filters.resources_fit, pod("p"),
     info(node("n", pods=1), pod("a", node_name="n")), [filters.TOO_MANY_PODS]),
]


@pytest.mark.parametrize("rule,fn,p,i,want", CASES, ids=[c[0] for c in CASES])
def test_filter(rule, fn, p, i, want):
    assert fn(p, i) == want


def test_limits_without_requests_request_the_limits():
    p = pod("p")
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m", "memory": "1Gi"}}
    r = pod_requests(p)
    assert (r.cpu, r.memory) == (500, 2**30)


def test_init_containers_count_as_their_max_not_their_sum():
    p = pod("p", cpu="200m")
    p["spec"]["initContainers"] = [
        {"name": "i1", "resources": {"requests": {"cpu": "1"}}},
        {"name": "i2", "resources": {"requests": {"cpu": "300m"}}},
    ]
    assert pod_requests(p).cpu == 1000


def test_terminated_pods_are_not_counted_on_their_node():
    snap = Snapshot.build([node("n", cpu="1")],
                          [pod("done", cpu="1", node_name="n", phase="Succeeded")])
    assert snap.nodes["n"].requested.cpu == 0


def test_failed_scheduling_message_counts_reasons_per_node():
    nodes = [node("a", cpu="1"), node("b", cpu="1"), node("c", cpu="1", labels={"disk": "hdd"})]
    result = schedule(pod("p", cpu="2", nodeSelector={"disk": "hdd"}),
                      Snapshot.build(nodes, []))
    assert isinstance(result, Unschedulable)
    assert result.message == ("0/3 nodes are available: 1 Insufficient cpu, "
                              "2 node(s) didn't match Pod's node affinity/selector.")


def test_node_affinity_is_skipped_only_for_pods_without_selector_or_required_affinity():
    needed = filters.needed_for
    assert filters.node_affinity not in needed(pod("p"), filters.DEFAULT_FILTERS)
    assert filters.node_affinity in needed(pod("p", nodeSelector={"disk": "ssd"}),
                                           filters.DEFAULT_FILTERS)
    # present but empty: it matches no node, so it must still be checked
    assert filters.node_affinity in needed(pod("p", affinity=required()), filters.DEFAULT_FILTERS)
    assert [f for f in filters.DEFAULT_FILTERS if f is not filters.node_affinity] == \
        needed(pod("p"), filters.DEFAULT_FILTERS)


def test_a_node_change_reaches_the_filters_through_set_node():
    i = info(node("n"))
    assert filters.node_ready(pod("p"), i) == []
    assert filters.taints_tolerated(pod("p"), i) == []
    i.set_node(node("n", ready=False, taints=[taint("gpu", "yes")], unschedulable=True))
    assert filters.node_ready(pod("p"), i) == [filters.NOT_READY]
    assert filters.taints_tolerated(pod("p"), i) == ["node(s) had untolerated taint {gpu: yes}"]
    assert filters.node_schedulable(pod("p"), i) == [filters.UNSCHEDULABLE]
    i.set_node(node("n"))
    assert (i.ready, i.unschedulable, i.hard_taints) == (True, False, [])


def _every_filter_run(fs):
    """The same filters, without the marks that let a decision skip them."""
    return [lambda p, i, f=f: f(p, i) for f in fs]


def test_skipping_filters_never_changes_a_decision():
    nodes = [node("a", cpu="2", labels={"disk": "ssd", "zone": "a"}),
             node("b", cpu="4", labels={"disk": "hdd", "zone": "b"},
                  taints=[taint("slow", effect="PreferNoSchedule")]),
             node("c", cpu="1", ready=False), node("d", cpu="8", unschedulable=True),
             node("e", cpu="8", taints=[taint("gpu", "yes")])]
    bound = [pod("x", cpu="1", node_name="a"), pod("y", cpu="3", node_name="b")]
    pods = [pod("p"), pod("p", cpu="1"), pod("p", cpu="3"), pod("p", nodeSelector={"disk": "ssd"}),
            pod("p", affinity=required({"matchExpressions": [expr("zone", "In", "b")]})),
            pod("p", affinity=required()), pod("p", tolerations=[tol("gpu", "Exists")]),
            pod("p", cpu="16")]
    for p in pods:
        snap = Snapshot.build(nodes, bound)
        assert schedule(p, snap) == schedule(p, snap, filters=_every_filter_run(
            filters.DEFAULT_FILTERS)), p["spec"]


def test_volume_binding_is_skipped_only_for_pods_without_claims():
    from coxapi.informer import Informer
    from master.listwatch import StoreListWatcher
    from master.objects import ObjectStore
    from master.scheduler.volumes import VolumeBinding
    from raftstore import MemoryStore

    objects = ObjectStore(MemoryStore())
    vb = VolumeBinding(objects, *(Informer(StoreListWatcher(objects), k) for k in (
        "PersistentVolumeClaim", "PersistentVolume", "StorageClass")), on_change=lambda: None)
    with_claim = pod("p", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}])
    assert filters.needed_for(pod("p"), [vb.filter]) == []
    assert filters.needed_for(with_claim, [vb.filter]) == [vb.filter]
    # and the claim is checked: it does not exist, so no node will do
    assert vb.filter(with_claim, info(node("n"))) != []
