"""An owner being deleted never adopts: an Orphan delete must leave the
dependents alone, not see them re-adopted and garbage-collected."""

from __future__ import annotations

import copy

from coxapi import labels
from master.admission import deletion
from master.controllers.base import Context
from master.controllers.deployment import DeploymentController
from master.controllers.garbagecollector import GarbageCollector
from master.controllers.replicaset import ReplicaSetController
from master.controllers.testing import FakeClock, make_context
from master.objects import ObjectStore
from tests.unit.api_harness import Api
from tests.unit.test_controller_deployment import LABELS, deployment

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def settle(ctx, *controllers, rounds=20):
    for _ in range(rounds):
        ctx.informers.relist()
        if not sum(c.drain() for c in controllers):
            return
    raise AssertionError("controllers did not settle")


def owners(obj):
    return [r["uid"] for r in obj["metadata"].get("ownerReferences") or []]


def orphan_in_store(ctx, kind, obj):
    """What the API's Orphan delete does to a dependent: strip its owner."""
    return ctx.objects.guaranteed_update(kind, "default", obj["metadata"]["name"],
                                         lambda o: {**o, "metadata": {
                                             k: v for k, v in o["metadata"].items()
                                             if k != "ownerReferences"}})


def mark_deleting(ctx, kind, obj):
    return ctx.objects.guaranteed_update(kind, "default", obj["metadata"]["name"], lambda o: {
        **o, "metadata": {**o["metadata"], "deletionTimestamp": "2027-01-01T00:00:00Z"}})


def test_an_owner_being_deleted_does_not_adopt_even_from_a_stale_cache():
    ctx, _ = make_context()
    ctx.objects.create(deployment(replicas=2))
    dc, rsc = DeploymentController(ctx), ReplicaSetController(ctx)
    settle(ctx, dc, rsc)
    d = copy.deepcopy(dc.deployments.get("default/web"))  # the cached copy: not terminating
    rs = ctx.objects.list("ReplicaSet", "default")[0][0]
    rs_cached = copy.deepcopy(rs)
    pod = ctx.objects.list("Pod", "default")[0][0]
    mark_deleting(ctx, "Deployment", d)
    mark_deleting(ctx, "ReplicaSet", rs)
    rs = orphan_in_store(ctx, "ReplicaSet", rs)
    pod = orphan_in_store(ctx, "Pod", pod)
    ctx.informers["ReplicaSet"].relist()  # the Deployment informer lags behind

    assert dc.claim(d, labels.from_label_selector({"matchLabels": LABELS})) == []
    assert rsc.claim(rs_cached, labels.from_label_selector({"matchLabels": LABELS}), [pod]) == []
    assert owners(ctx.objects.get("ReplicaSet", "default", rs["metadata"]["name"])) == []
    assert owners(ctx.objects.get("Pod", "default", pod["metadata"]["name"])) == []


def test_an_owner_not_being_deleted_still_adopts_its_orphans():
    ctx, _ = make_context()
    ctx.objects.create(deployment(replicas=1))
    dc, rsc = DeploymentController(ctx), ReplicaSetController(ctx)
    settle(ctx, dc, rsc)
    rs = orphan_in_store(ctx, "ReplicaSet", ctx.objects.list("ReplicaSet", "default")[0][0])
    settle(ctx, dc, rsc)
    d = ctx.objects.get("Deployment", "default", "web")
    assert owners(ctx.objects.get("ReplicaSet", "default", rs["metadata"]["name"])) == \
        [d["metadata"]["uid"]]


def test_orphan_delete_keeps_the_replicaset_when_the_controller_runs_in_between(monkeypatch):
    """Through the API: the Deployment controller reconciles after the API
    orphaned the ReplicaSet but before it removed the Deployment."""
    api = Api()
    clock = FakeClock()
    ctx = Context(ObjectStore(api.store, clock=clock), make_context(clock)[0].config)
    dc, rsc, gc = DeploymentController(ctx), ReplicaSetController(ctx), GarbageCollector(ctx)
    assert api.post(DEPLOYMENTS, deployment(replicas=2)).status_code == 201
    settle(ctx, dc, rsc, gc)
    rs_name = ctx.objects.list("ReplicaSet", "default")[0][0]["metadata"]["name"]
    real = deletion.orphan_dependents

    def orphan_then_reconcile(objects, owner):
        count = real(objects, owner)
        settle(ctx, dc, rsc)
        return count
    monkeypatch.setattr(deletion, "orphan_dependents", orphan_then_reconcile)
    r = api.delete(f"{DEPLOYMENTS}/web", {"propagationPolicy": "Orphan"})
    assert r.status_code == 200
    assert api.get(f"{DEPLOYMENTS}/web").status_code == 404
    settle(ctx, dc, rsc, gc)
    rs = ctx.objects.get("ReplicaSet", "default", rs_name)
    assert owners(rs) == []
    assert len(ctx.objects.list("Pod", "default")[0]) == 2
