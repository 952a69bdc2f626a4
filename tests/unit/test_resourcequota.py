"""ResourceQuota (issue 9, item 2): creates past a namespace's quota are
refused 403 as Kubernetes words it, two creates cannot both take the last
slot, the controller recounts what deletions free, and the ReplicaSet
controller stops at the quota."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from coxapi import kinds
from master.admission import quota as admission
from master.controllers.base import Context
from master.controllers.config import ControllerConfig
from master.controllers.replicaset import ReplicaSetController
from master.controllers.resourcequota import ResourceQuotaController
from master.controllers.testing import make_context
from raftstore.types import RangeResult

from .api_harness import Api

PODS = "/api/v1/namespaces/default/pods"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


def _pod(name: str, cpu: str | None = "500m", memory: str | None = None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    c: dict = {"name": "app", "image": "busybox:1.36"}
    if requests:
        c["resources"] = {"requests": requests}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [c]}}


def _quota(name: str = "q", **hard: str) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": {"hard": hard}}


class Harness:
    def __init__(self) -> None:
        self.api = Api()
        self.ctx = Context(self.api.objects, ControllerConfig())
        self.controller = ResourceQuotaController(self.ctx)

    def recount(self) -> None:
        self.ctx.informers.relist()
        self.controller.periodic()
        self.controller.drain()

    def used(self, name: str = "q") -> dict:
        return self.api.get(f"{QUOTAS}/{name}").json["status"].get("used")


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.api.close()


def test_pods_past_the_quota_are_refused_as_kubernetes_words_it(h):
    api = h.api
    assert api.post(QUOTAS, _quota(**{"count/pods": "2", "requests.cpu": "1"})).status_code == 201
    r = api.post(PODS, _pod("early"))
    assert r.status_code == 403  # before the controller has counted: Kubernetes refuses too
    assert "status unknown for quota: q" in r.json["message"]
    h.recount()
    assert h.used() == {"count/pods": "0", "requests.cpu": "0"}

    r = api.post(PODS, _pod("no-requests", cpu=None))
    assert r.status_code == 403
    assert r.json["message"] == ('pods "no-requests" is forbidden: failed quota: q: must '
                                 'specify requests.cpu for: app')
    assert api.post(PODS, _pod("p1")).status_code == 201
    assert h.used() == {"count/pods": "1", "requests.cpu": "500m"}
    r = api.post(PODS, _pod("p2", cpu="600m"))
    assert r.status_code == 403
    assert r.json["reason"] == "Forbidden"
    assert r.json["message"] == ('pods "p2" is forbidden: exceeded quota: q, requested: '
                                 'requests.cpu=600m, used: requests.cpu=500m, limited: '
                                 'requests.cpu=1')
    assert api.get(f"{PODS}/p2").status_code == 404
    assert api.post(PODS, _pod("p3", cpu="0.5")).status_code == 201
    r = api.post(PODS, _pod("p4", cpu="1m"))
    assert r.status_code == 403
    assert "requested: count/pods=1,requests.cpu=1m, used: count/pods=2,requests.cpu=1" \
        in r.json["message"]

    # a deletion frees its share once the controller has recounted
    assert api.delete(f"{PODS}/p1", {"gracePeriodSeconds": 0}).status_code == 200
    h.recount()
    assert h.used() == {"count/pods": "1", "requests.cpu": "500m"}
    assert api.post(PODS, _pod("p5")).status_code == 201


def test_object_counts_and_memory(h):
    api = h.api
    api.post(QUOTAS, _quota(**{"count/configmaps": "1", "requests.memory": "1Gi",
                               "limits.memory": "2Gi"}))
    h.recount()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    assert api.post("/api/v1/namespaces/default/configmaps", cm).status_code == 201
    cm["metadata"]["name"] = "b"
    r = api.post("/api/v1/namespaces/default/configmaps", cm)
    assert r.status_code == 403 and "count/configmaps=1" in r.json["message"]
    # limits without requests: requests default to the limits
    pod = _pod("m", cpu=None)
    pod["spec"]["containers"][0]["resources"] = {"limits": {"memory": "768Mi"}}
    assert api.post(PODS, pod).status_code == 201
    assert h.used() == {"count/configmaps": "1", "limits.memory": "768Mi",
                        "requests.memory": "768Mi"}
    # another namespace is not limited
    assert api.post("/api/v1/namespaces", {"metadata": {"name": "free"}}).status_code == 201
    assert api.post("/api/v1/namespaces/free/configmaps", cm).status_code == 201


def test_a_quota_naming_an_unknown_resource_is_422(h):
    r = h.api.post(QUOTAS, _quota(**{"count/widgets": "1", "requests.cpu": "1e400"}))
    assert r.status_code == 422
    fields = sorted(c["field"] for c in r.json["details"]["causes"])
    assert fields == ["spec.hard[count/widgets]", "spec.hard[requests.cpu]"]


def test_racing_creates_never_both_take_the_last_slot(h):
    api = h.api
    api.post(QUOTAS, _quota(**{"count/pods": "5"}))
    h.recount()
    outcomes: list[int] = []
    start = threading.Barrier(20)

    def create(i: int) -> None:
        client = api.app.test_client()
        start.wait()
        r = client.post(PODS, json=_pod(f"r{i}"),
                        headers={"Authorization": "Bearer admin-token-for-tests"})
        outcomes.append(r.status_code)
    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [201] * 5 + [403] * 15
    assert len(api.objects.list("Pod", "default").items) == 5
    assert h.used() == {"count/pods": "5"}


def test_a_charge_on_a_stale_quota_is_refused_by_the_store_and_made_again(h):
    """The admission reads the quotas this replica has; when another create
    charged the quota since, the transaction's compare fails and the charge
    is computed again on the latest."""
    api = h.api
    api.post(QUOTAS, _quota(**{"count/pods": "1"}))
    h.recount()
    store = api.objects.store
    prefix = kinds.lookup("ResourceQuota").storage_prefix("default")
    stale = store.range(prefix)
    assert api.post(PODS, _pod("first")).status_code == 201  # takes the one slot
    reads: list[bool] = []
    real_range = store.range

    def range_(p: str, *a, linearizable: bool = True, **kw) -> RangeResult:
        if p == prefix:
            reads.append(linearizable)
            if not linearizable:
                return stale  # as if this replica had not seen the first charge
        return real_range(p, *a, linearizable=linearizable, **kw)
    store.range = range_  # type: ignore[method-assign]
    try:
        r = api.post(PODS, _pod("second"))
    finally:
        store.range = real_range  # type: ignore[method-assign]
    assert r.status_code == 403 and "exceeded quota" in r.json["message"]
    # this replica's copy first (by the create on the event loop, which leaves
    # a charged create to a worker thread, and by that one), then the latest
    assert reads[:-1] and not any(reads[:-1]) and reads[-1] is True
    assert h.used() == {"count/pods": "1"}


def test_the_replicaset_controller_stops_at_the_quota():
    ctx, _ = make_context()
    ctx.objects.create({"apiVersion": "v1", "kind": "ResourceQuota",
                        "metadata": {"name": "q", "namespace": "default"},
                        "spec": {"hard": {"pods": "3"}}})
    quotas = ResourceQuotaController(ctx)
    rsc = ReplicaSetController(ctx)
    labels = {"app": "web"}
    ctx.objects.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 1_000_000_000, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": "x:1"}]}}}})
    ctx.informers.relist()
    quotas.periodic()
    quotas.drain()
    for _ in range(3):
        ctx.informers.relist()
        rsc.drain()
    assert len(ctx.objects.list("Pod", "default").items) == 3
    rs = ctx.objects.get("ReplicaSet", "default", "web")
    [cond] = rs["status"]["conditions"]
    assert cond["type"] == "ReplicaFailure" and "exceeded quota: q" in cond["message"]


def test_charges_is_pure_and_leaves_unlimited_kinds_alone():
    q = {"metadata": {"name": "q", "namespace": "default"},
         "spec": {"hard": {"count/secrets": "1"}}, "status": {"used": {"count/secrets": "0"}}}
    from raftstore.types import KeyValue
    kv = KeyValue("/registry/resourcequotas/default/q", q, 1, 1, 1, 0)
    pod = kinds.lookup("Pod")
    assert admission.charges(pod, _pod("p"), [kv]) == []
    secret = kinds.lookup("Secret")
    [(_, new)] = admission.charges(secret, {"metadata": {"name": "s"}}, [kv])
    assert new["status"]["used"] == {"count/secrets": "1"}
    assert q["status"]["used"] == {"count/secrets": "0"}  # the read value is not changed
