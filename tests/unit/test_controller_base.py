"""The never-die policy of controller workers, and slow-start on failing creates."""

from __future__ import annotations

import threading

from coxapi import errors
from coxapi.supervisor import Supervisor
from master.controllers.base import Controller
from master.controllers.replicaset import ReplicaSetController
from master.controllers.testing import make_context
from tests.support import wait_until


class Flaky(Controller):
    name = "flaky"

    def __init__(self, ctx, failures):
        super().__init__(ctx)
        self.failures = failures
        self.calls = []
        self.done = threading.Event()

    def reconcile(self, key):
        self.calls.append(key)
        if key == "missing":
            raise errors.NotFound("gone")
        if len([k for k in self.calls if k == key]) <= self.failures:
            raise RuntimeError("unexpected bug")
        self.done.set()
        return None


def test_a_failing_reconcile_is_retried_with_backoff_and_the_worker_survives():
    ctx, _ = make_context(workers=1)
    c = Flaky(ctx, failures=3)
    threads = Supervisor("test")
    [(name, loop)] = c.loops().items()
    threads.spawn(name, loop)
    try:
        c.queue.add("k")
        assert c.done.wait(5)
        assert c.calls == ["k"] * 4
        assert c.queue.failures("k") == 0  # forgotten after success
        c.queue.add("missing")
        wait_until(lambda: "missing" in c.calls, 5, what="NotFound key processed")
        assert threads.died == []
    finally:
        threads.stop()
        assert threads.join(2) == []
    assert c.queue.failures("missing") == 0  # NotFound is not an error


def test_failing_pod_creates_slow_start_and_warn():
    ctx, _ = make_context()
    ctx.objects.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": "web", "namespace": "default"},
                        "spec": {"replicas": 50, "selector": {"matchLabels": {"a": "b"}},
                                 "template": {"metadata": {"labels": {"a": "b"}},
                                              "spec": {"containers": [{"name": "c"}]}}}})
    rsc = ReplicaSetController(ctx)
    ctx.informers.relist()
    real_create = ctx.objects.create
    attempts = []

    def refuse_pods(obj, **kw):
        if obj["kind"] == "Pod":
            attempts.append(obj)
            raise errors.Forbidden("exceeded quota")
        return real_create(obj, **kw)
    ctx.objects.create = refuse_pods
    rsc.drain()
    assert len(attempts) == 1  # the first batch of one failed: no 49 more tries
    assert rsc.queue.failures("default/web") == 1  # retried with back-off
    assert rsc.expectations.satisfied("default/web")  # nothing left to wait for
    ctx.objects.create = real_create
    failed = [e for e in ctx.objects.list("Event", "default")[0] if e["reason"] == "FailedCreate"]
    assert failed and "exceeded quota" in failed[0]["message"]


def test_replica_failure_condition_is_set_while_creates_fail_and_cleared_after():
    ctx, _ = make_context()
    ctx.objects.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": "web", "namespace": "default"},
                        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
                                 "template": {"metadata": {"labels": {"a": "b"}},
                                              "spec": {"containers": [{"name": "c"}]}}}})
    rsc = ReplicaSetController(ctx)
    ctx.informers.relist()
    real_create = ctx.objects.create

    def refuse_pods(obj):
        if obj["kind"] == "Pod":
            raise errors.Forbidden("exceeded quota")
        return real_create(obj)
    ctx.objects.create = refuse_pods
    rsc.drain()
    cond = ctx.objects.get("ReplicaSet", "default", "web")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True",
                                                              "FailedCreate")
    assert "exceeded quota" in cond["message"]
    ctx.objects.create = real_create
    for _ in range(2):  # create, then observe the new pods
        ctx.informers.relist()
        rsc.process("default/web")
    st = ctx.objects.get("ReplicaSet", "default", "web")["status"]
    assert st["conditions"] == [] and st["replicas"] == 2
