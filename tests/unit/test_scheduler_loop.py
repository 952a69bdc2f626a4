"""The scheduling loop against the real ObjectStore over MemoryStore."""

from __future__ import annotations

import time

from coxapi.supervisor import Supervisor
from master.controllers.testing import make_context, node, pod
from master.scheduler.loop import Scheduler
from tests.support import wait_until


def setup(*objs, **cfg):
    ctx, clock = make_context(**cfg)
    for o in objs:
        ctx.objects.create(o)
    sched = Scheduler(ctx)
    ctx.informers.relist()
    return ctx, sched


def get_pod(ctx, name):
    return ctx.objects.get("Pod", "default", name)


def events(ctx, reason):
    return [e for e in ctx.objects.list("Event", "default")[0] if e["reason"] == reason]


def cond(p, ctype):
    return next((c for c in p["status"].get("conditions", []) if c["type"] == ctype), None)


def test_pending_pod_is_bound_with_condition_and_event():
    ctx, sched = setup(node("n1"), pod("web"))
    sched.drain()
    p = get_pod(ctx, "web")
    assert p["spec"]["nodeName"] == "n1"
    assert cond(p, "PodScheduled")["status"] == "True"
    [ev] = events(ctx, "Scheduled")
    assert ev["message"] == "Successfully assigned default/web to n1"
    assert ev["involvedObject"]["name"] == "web" and ev["type"] == "Normal"
    assert ev["source"]["component"] == "default-scheduler"


def test_unschedulable_pod_stays_pending_with_reason_then_binds_when_a_node_fits():
    ctx, sched = setup(node("small", cpu="1"), pod("big", cpu="2"))
    sched.drain()
    p = get_pod(ctx, "big")
    assert not p["spec"].get("nodeName")
    c = cond(p, "PodScheduled")
    assert (c["status"], c["reason"]) == ("False", "Unschedulable")
    assert c["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    [ev] = events(ctx, "FailedScheduling")
    assert ev["type"] == "Warning" and ev["message"] == c["message"]
    # our own status write must not make it spin
    ctx.informers.relist()
    assert sched.drain() == 0
    ctx.objects.create(node("large", cpu="4"))
    ctx.informers.relist()  # the new node wakes the waiting pod
    sched.drain()
    assert get_pod(ctx, "big")["spec"]["nodeName"] == "large"


def test_repeated_failures_aggregate_into_one_event_with_a_count():
    ctx, sched = setup(node("small", cpu="1"), pod("big", cpu="2"))
    for _ in range(3):
        sched.queue.add("default/big")
        sched.drain()
    [ev] = events(ctx, "FailedScheduling")
    assert ev["count"] == 3


def test_assumed_pods_prevent_overcommit_before_the_informer_sees_bindings():
    objs = [node("a", cpu="4"), node("b", cpu="4")] + [pod(f"p{i}", cpu="1") for i in range(10)]
    ctx, sched = setup(*objs)
    sched.drain()  # no relist in between: the informer has seen no binding yet
    pods = ctx.objects.list("Pod", "default")[0]
    on = {"a": 0, "b": 0}
    for p in pods:
        if p["spec"].get("nodeName"):
            on[p["spec"]["nodeName"]] += 1
    assert on == {"a": 4, "b": 4}
    assert sum(1 for p in pods if not p["spec"].get("nodeName")) == 2


def test_a_pod_bound_by_someone_else_is_never_bound_twice():
    ctx, sched = setup(node("a"), node("b"), pod("p"))
    cached = sched.pods.get("default/p")
    ctx.objects.guaranteed_update("Pod", "default", "p",
                                  lambda o: {**o, "spec": {**o["spec"], "nodeName": "b"}})
    assert sched.bind(cached, "a") is False
    assert get_pod(ctx, "p")["spec"]["nodeName"] == "b"


def test_binding_survives_a_concurrent_status_write():
    ctx, sched = setup(node("a"), pod("p"))
    cached = sched.pods.get("default/p")
    ctx.objects.guaranteed_update("Pod", "default", "p",
                                  lambda o: {**o, "status": {"phase": "Pending", "x": 1}})
    assert sched.bind(cached, "a") is True
    p = get_pod(ctx, "p")
    assert p["spec"]["nodeName"] == "a" and p["status"]["x"] == 1


def test_pods_for_another_scheduler_are_left_alone():
    ctx, sched = setup(node("a"), pod("p", schedulerName="other"))
    sched.drain()
    assert not get_pod(ctx, "p")["spec"].get("nodeName")


def test_threaded_loop_binds_pods_created_while_running():
    ctx, sched = setup(node("a"), node("b"))
    ctx.informers.start()
    threads = Supervisor("test")
    for name, loop in sched.loops().items():
        threads.spawn(name, loop)
    try:
        for i in range(20):
            ctx.objects.create(pod(f"p{i}", cpu="100m"))
        wait_until(lambda: all(p["spec"].get("nodeName")
                               for p in ctx.objects.list("Pod", "default")[0]),
                   timeout=10, what="all pods bound")
    finally:
        threads.stop()
        ctx.informers.stop()
        assert threads.join(2) == []
    assert threads.died == []


def test_waiting_pod_is_retried_when_a_bound_pod_frees_room():
    ctx, sched = setup(node("n1", cpu="1"), pod("old", cpu="1", node_name="n1"),
                       pod("new", cpu="1"))
    sched.drain()
    assert not get_pod(ctx, "new")["spec"].get("nodeName")
    ctx.objects.delete("Pod", "default", "old")
    ctx.informers.relist()  # the deletion wakes the waiting pod, no timer needed
    sched.drain()
    assert get_pod(ctx, "new")["spec"]["nodeName"] == "n1"


def test_waiting_pod_is_retried_on_its_backoff_timer():
    ctx, sched = setup(node("n1", cpu="1"), pod("big", cpu="2"),
                       scheduler_backoff_initial=0.05, scheduler_backoff_max=0.05)
    t0 = time.monotonic()
    sched.drain()
    assert sched.queue.get(timeout=5) == "default/big"  # the back-off timer requeued it
    assert time.monotonic() - t0 >= 0.05
