"""DaemonSet controller: one pod per eligible node, over a fake clock and an
in-memory store (the scheduler's binding is done by hand here)."""

from __future__ import annotations

from coxapi import kinds
from master.admission.strategy import prepare_create
from master.controllers import daemonplan
from master.controllers.daemonset import DaemonSetController
from master.controllers.testing import make_context, node

DS = kinds.lookup("DaemonSet")
LABELS = {"app": "agent"}


def daemonset(image="agent:1", **spec):
    tmpl_spec = {"containers": [{"name": "a", "image": image}], **spec.pop("pod", {})}
    return prepare_create(DS, {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": LABELS},
                 "template": {"metadata": {"labels": LABELS}, "spec": tmpl_spec}, **spec}})


def setup(*objs):
    ctx, clock = make_context()
    for o in objs:
        ctx.objects.create(o)
    return ctx, clock, DaemonSetController(ctx)


def settle(ctx, c, rounds=10):
    c.queue.add("default/agent")
    for _ in range(rounds):
        ctx.informers.relist()
        if not c.drain():
            return


def pods(ctx):
    return [p for p in ctx.objects.list("Pod", "default")[0]
            if not p["metadata"].get("deletionTimestamp")]


def by_node(ctx):
    return sorted(daemonplan.target_node(p) for p in pods(ctx))


def run(ctx, pod, ready=True):
    """What the scheduler and the node would do: bind and report ready."""
    def write(cur):
        cur["spec"]["nodeName"] = daemonplan.target_node(cur)
        cur["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True" if ready else "False",
             "lastTransitionTime": "2027-01-15T08:00:00Z"}]}
        return cur
    ctx.objects.guaranteed_update("Pod", "default", pod["metadata"]["name"], write)


def gone(ctx):
    """The nodes finish stopping the pods being deleted."""
    for p in ctx.objects.list("Pod", "default")[0]:
        if p["metadata"].get("deletionTimestamp"):
            ctx.objects.delete("Pod", "default", p["metadata"]["name"])


def status(ctx):
    return ctx.objects.get("DaemonSet", "default", "agent")["status"]


def test_one_pod_per_node_pinned_by_affinity_with_default_tolerations():
    ctx, _, c = setup(node("n1"), node("n2"), daemonset())
    settle(ctx, c)
    assert by_node(ctx) == ["n1", "n2"]
    p = pods(ctx)[0]
    assert not p["spec"].get("nodeName")  # the scheduler binds it
    term = p["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchFields"][0]["key"] == "metadata.name"
    keys = {t["key"] for t in p["spec"]["tolerations"]}
    assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
            "node.kubernetes.io/unschedulable"} <= keys
    assert p["metadata"]["labels"][daemonplan.HASH_LABEL] == daemonplan.template_hash(
        ctx.objects.get("DaemonSet", "default", "agent"))
    assert status(ctx)["desiredNumberScheduled"] == 2


def test_node_selector_and_taints_decide_eligibility():
    tainted = node("n3", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    ctx, _, c = setup(node("n1", labels={"disk": "ssd"}), node("n2"), tainted,
                      node("n4", labels={"disk": "ssd"}, unschedulable=True),
                      daemonset(pod={"nodeSelector": {"disk": "ssd"}}))
    settle(ctx, c)
    assert by_node(ctx) == ["n1", "n4"]  # unschedulable is tolerated by default
    ctx2, _, c2 = setup(node("n2"), tainted, daemonset(pod={"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]}))
    settle(ctx2, c2)
    assert by_node(ctx2) == ["n2", "n3"]


def test_pods_follow_nodes_joining_and_leaving():
    ctx, _, c = setup(node("n1"), daemonset())
    settle(ctx, c)
    ctx.objects.create(node("n2"))
    settle(ctx, c)
    assert by_node(ctx) == ["n1", "n2"]
    ctx.objects.delete("Node", None, "n1")
    settle(ctx, c)
    gone(ctx)
    settle(ctx, c)
    assert by_node(ctx) == ["n2"]
    assert status(ctx)["desiredNumberScheduled"] == 1


def test_failed_pod_is_replaced():
    ctx, _, c = setup(node("n1"), daemonset())
    settle(ctx, c)
    [p] = pods(ctx)
    ctx.objects.guaranteed_update("Pod", "default", p["metadata"]["name"],
                                  lambda o: {**o, "status": {"phase": "Failed"}})
    settle(ctx, c)
    gone(ctx)
    settle(ctx, c)
    [q] = pods(ctx)
    assert q["metadata"]["uid"] != p["metadata"]["uid"]


def test_rolling_update_respects_max_unavailable():
    ctx, _, c = setup(node("n1"), node("n2"), node("n3"), daemonset())
    settle(ctx, c)
    for p in pods(ctx):
        run(ctx, p)
    settle(ctx, c)
    assert status(ctx)["numberAvailable"] == 3

    def new_image(o):
        o["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
        return o
    ctx.objects.guaranteed_update("DaemonSet", "default", "agent", new_image)
    new_hash = daemonplan.template_hash(ctx.objects.get("DaemonSet", "default", "agent"))
    for _ in range(3):
        settle(ctx, c)
        terminating = [p for p in ctx.objects.list("Pod", "default")[0]
                       if p["metadata"].get("deletionTimestamp")]
        assert len(terminating) <= 1  # maxUnavailable 1
        gone(ctx)
        settle(ctx, c)
        for p in pods(ctx):
            if not p["spec"].get("nodeName"):
                run(ctx, p)
    settle(ctx, c)
    assert all(p["metadata"]["labels"][daemonplan.HASH_LABEL] == new_hash for p in pods(ctx))
    assert by_node(ctx) == ["n1", "n2", "n3"]
    assert status(ctx)["updatedNumberScheduled"] == 3


def test_max_unavailable_percent_rounds_up():
    ds = daemonset(updateStrategy={"type": "RollingUpdate",
                                   "rollingUpdate": {"maxUnavailable": "10%"}})
    assert daemonplan.max_unavailable(ds, 3) == 1
    assert daemonplan.max_unavailable(ds, 25) == 3
