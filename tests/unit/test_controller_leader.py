"""ControllerManager: the whole set of loops started on a store, the way the
master runs them as Raft leader, and stopped within a second."""

from __future__ import annotations

import threading
import time

import pytest

from coxapi import errors
from master.controllers.config import ControllerConfig
from master.controllers.testing import node
from master.leader import ControllerManager
from master.objects import ObjectStore
from raftstore import MemoryStore
from tests.support import wait_until

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "web", "namespace": "default"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "strategy": {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                   "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "app", "image": "demo"}]}}}}


def lease(name):
    from coxapi.timefmt import rfc3339
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"renewTime": rfc3339(time.time(), True)}}


@pytest.fixture
def objects():
    return ObjectStore(MemoryStore())


def pods(objects):
    return objects.list("Pod", "default")[0]


def test_deployment_to_bound_pods_end_to_end_then_stop_within_a_second(objects):
    for n in ("n1", "n2"):
        objects.create(node(n))
        objects.create(lease(n))
    objects.create({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "web", "namespace": "default"},
                    "spec": {"type": "ClusterIP", "selector": {"app": "web"},
                             "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    objects.create(DEPLOY)
    cm = ControllerManager(objects, ControllerConfig())
    cm.start()
    try:
        wait_until(lambda: len(pods(objects)) == 3
                   and all(p["spec"].get("nodeName") for p in pods(objects)),
                   timeout=15, what="3 pods created and bound")
        wait_until(lambda: objects.get("Service", "default", "web")["spec"].get("clusterIP"),
                   timeout=10, what="cluster IP")
        wait_until(lambda: all(objects.get("Node", None, n)["spec"].get("podCIDR")
                               for n in ("n1", "n2")), timeout=10, what="pod CIDRs")
        wait_until(lambda: objects.get("Endpoints", "default", "web"), 10, what="endpoints")
        assert {p["spec"]["nodeName"] for p in pods(objects)} == {"n1", "n2"}  # spread
    finally:
        t0 = time.monotonic()
        cm.stop()
        took = time.monotonic() - t0
    assert took < 1.0, f"stop took {took:.2f}s"
    rev = objects.store.revision()
    objects.create({**DEPLOY, "metadata": {"name": "after", "namespace": "default"}})
    time.sleep(0.5)  # the absence of work is what is checked: give it a chance
    assert objects.store.revision() == rev + 1  # nothing but our own create
    assert cm._threads is not None and cm._threads.join(0) == []


def test_restart_after_stop_starts_from_a_fresh_list(objects):
    objects.create(node("n1"))
    objects.create(lease("n1"))
    cm = ControllerManager(objects, ControllerConfig())
    cm.start()
    assert cm.ready.wait(5)
    cm.stop()
    objects.create(DEPLOY)  # created while not leading
    cm.start()
    try:
        wait_until(lambda: len(pods(objects)) == 3, timeout=15, what="pods after re-election")
    finally:
        cm.stop()


def test_fence_refuses_writes_after_stop(objects):
    cm = ControllerManager(objects, ControllerConfig())
    cm.start()
    assert cm.ready.wait(5)
    ctx_objects = cm.controllers[0].objects
    cm.stop()
    with pytest.raises(errors.Unavailable):
        ctx_objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "x", "namespace": "default"}})


def test_stop_within_a_second_even_with_a_write_stuck_in_the_store(objects):
    release = threading.Event()
    entered = threading.Event()

    class SlowStore:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def put(self, *a, **kw):
            entered.set()
            release.wait(5)  # a write that never commits (no quorum)
            return self.inner.put(*a, **kw)

    slow = ObjectStore(SlowStore(objects.store))
    objects.create(node("n1"))  # IPAM will try to write its podCIDR and hang
    cm = ControllerManager(slow, ControllerConfig())
    cm.start()
    assert cm.ready.wait(5)
    assert entered.wait(5), "no worker reached the store"
    t0 = time.monotonic()
    cm.stop()
    took = time.monotonic() - t0
    release.set()
    assert took < 1.0, f"stop took {took:.2f}s"
