"""ReplicaSet controller reconcile against ObjectStore over MemoryStore."""

from __future__ import annotations

import threading
import time

from coxapi.timefmt import rfc3339
from master.controllers.ownership import CONTROLLER_INDEX, ORPHAN, candidates, controlled
from master.controllers.replicaset import ReplicaSetController, deletion_rank
from master.controllers.testing import make_context, pod

LABELS = {"app": "web"}


def replicaset(name="web", replicas=3, min_ready=0):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "labels": LABELS},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "app", "image": "demo"}]}}}}


def setup(*objs, **cfg):
    ctx, clock = make_context(**cfg)
    for o in objs:
        ctx.objects.create(o)
    rsc = ReplicaSetController(ctx)
    return ctx, clock, rsc


def settle(ctx, rsc, rounds=10):
    for _ in range(rounds):
        ctx.informers.relist()
        if not rsc.drain():
            return


def pods(ctx):
    return sorted(ctx.objects.list("Pod", "default")[0], key=lambda p: p["metadata"]["name"])


def rs_of(ctx, name="web"):
    return ctx.objects.get("ReplicaSet", "default", name)


def scale(ctx, n, name="web"):
    ctx.objects.guaranteed_update("ReplicaSet", "default", name,
                                  lambda o: {**o, "spec": {**o["spec"], "replicas": n}})


def test_scale_up_creates_owned_pods_named_after_the_replicaset():
    ctx, _, rsc = setup(replicaset(replicas=3))
    settle(ctx, rsc)
    ps = pods(ctx)
    assert len(ps) == 3
    uid = rs_of(ctx)["metadata"]["uid"]
    for p in ps:
        assert p["metadata"]["name"].startswith("web-") and len(p["metadata"]["name"]) == 9
        [ref] = p["metadata"]["ownerReferences"]
        assert (ref["uid"], ref["kind"], ref["controller"]) == (uid, "ReplicaSet", True)
        assert p["metadata"]["labels"] == LABELS
    st = rs_of(ctx)["status"]
    assert (st["replicas"], st["readyReplicas"], st["observedGeneration"]) == (3, 0, 1)


def test_expectations_prevent_double_creation_with_a_stale_cache():
    ctx, _, rsc = setup(replicaset(replicas=3))
    ctx.informers.relist()
    rsc.reconcile("default/web")
    # the pod informer has not seen the creations yet: another pass must not create more
    rsc.reconcile("default/web")
    assert len(pods(ctx)) == 3


def test_pods_observed_after_the_list_do_not_count_as_seen_on_it():
    ctx, _, rsc = setup(replicaset(replicas=3))
    ctx.informers.relist()
    rsc.reconcile("default/web")
    claim = rsc.claim

    def observed_meanwhile(*args):  # the creations arrive after the pods were listed
        claimed = claim(*args)
        ctx.informers["Pod"].relist()
        return claimed
    rsc.claim = observed_meanwhile
    rsc.reconcile("default/web")
    assert len(pods(ctx)) == 3


def test_scale_down_deletes_unscheduled_then_not_ready_then_newest():
    ctx, clock, rsc = setup(replicaset(replicas=4))
    settle(ctx, rsc)
    names = [p["metadata"]["name"] for p in pods(ctx)]
    # n0 unscheduled; n1 bound not ready; n2, n3 bound and ready (n3 ready later)
    for i, name in enumerate(names[1:], start=1):
        def bind(o, i=i):
            o["spec"]["nodeName"] = "node-1"
            o["status"]["phase"] = "Running"
            if i >= 2:
                o["status"]["conditions"] = [{"type": "Ready", "status": "True",
                                              "lastTransitionTime": rfc3339(clock() + i)}]
            return o
        ctx.objects.guaranteed_update("Pod", "default", name, bind)
    ranked = sorted(pods(ctx), key=deletion_rank)
    assert [p["metadata"]["name"] for p in ranked] == [names[0], names[1], names[3], names[2]]
    scale(ctx, 1)
    settle(ctx, rsc)
    left = [p for p in pods(ctx) if not p["metadata"].get("deletionTimestamp")]
    assert [p["metadata"]["name"] for p in left] == [names[2]]
    # the bound pods were deleted gracefully (marked for their node), the unbound one removed
    marked = {p["metadata"]["name"] for p in pods(ctx) if p["metadata"].get("deletionTimestamp")}
    assert marked == {names[1], names[3]}
    assert names[0] not in {p["metadata"]["name"] for p in pods(ctx)}
    assert rs_of(ctx)["status"]["replicas"] == 1  # terminating pods don't count


def test_failed_and_deleted_pods_are_replaced():
    ctx, _, rsc = setup(replicaset(replicas=2))
    settle(ctx, rsc)
    a, b = pods(ctx)
    ctx.objects.guaranteed_update("Pod", "default", a["metadata"]["name"],
                                  lambda o: {**o, "status": {"phase": "Failed"}})
    ctx.objects.delete("Pod", "default", b["metadata"]["name"])
    settle(ctx, rsc)
    active = [p for p in pods(ctx) if p["status"].get("phase") != "Failed"]
    assert len(active) == 2
    assert b["metadata"]["name"] not in {p["metadata"]["name"] for p in active}


def test_matching_orphans_are_adopted_instead_of_creating():
    ctx, _, rsc = setup(pod("orphan", labels=LABELS), pod("other", labels={"app": "db"}),
                        replicaset(replicas=2))
    settle(ctx, rsc)
    ps = {p["metadata"]["name"]: p for p in pods(ctx)}
    assert len(ps) == 3
    uid = rs_of(ctx)["metadata"]["uid"]
    assert ps["orphan"]["metadata"]["ownerReferences"][0]["uid"] == uid
    assert not ps["other"]["metadata"].get("ownerReferences")


def test_pods_owned_by_another_controller_are_not_adopted():
    foreign = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": "other-uid",
               "controller": True}
    ctx, _, rsc = setup(pod("taken", labels=LABELS, owner=foreign), replicaset(replicas=1))
    settle(ctx, rsc)
    ps = {p["metadata"]["name"]: p for p in pods(ctx)}
    assert len(ps) == 2 and ps["taken"]["metadata"]["ownerReferences"][0]["uid"] == "other-uid"


def test_pods_whose_labels_stop_matching_are_released_and_replaced():
    ctx, _, rsc = setup(replicaset(replicas=1))
    settle(ctx, rsc)
    [p] = pods(ctx)
    name = p["metadata"]["name"]
    ctx.objects.guaranteed_update(
        "Pod", "default", name,
        lambda o: {**o, "metadata": {**o["metadata"], "labels": {"app": "debug"}}})
    settle(ctx, rsc)
    ps = {q["metadata"]["name"]: q for q in pods(ctx)}
    assert len(ps) == 2
    assert not ps[name]["metadata"].get("ownerReferences")


def test_available_replicas_wait_for_min_ready_seconds():
    ctx, clock, rsc = setup(replicaset(replicas=1, min_ready=10))
    settle(ctx, rsc)
    [p] = pods(ctx)
    ctx.objects.guaranteed_update("Pod", "default", p["metadata"]["name"], lambda o: {
        **o, "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(clock())}]}})
    ctx.informers.relist()
    after = rsc.reconcile("default/web")
    st = rs_of(ctx)["status"]
    assert (st["readyReplicas"], st["availableReplicas"]) == (1, 0)
    assert after is not None and 9 < after <= 10.1
    clock.advance(10)
    ctx.informers.relist()
    rsc.reconcile("default/web")
    assert rs_of(ctx)["status"]["availableReplicas"] == 1


def test_deleted_replicaset_is_not_an_error():
    ctx, _, rsc = setup()
    assert rsc.reconcile("default/missing") is None


def test_each_slow_start_batch_is_created_in_parallel():
    ctx, _, _ = setup()
    create, lock = ctx.objects.create, threading.Lock()
    flight = {"now": 0, "max": 0}

    def slow_create(obj, *a, **kw):
        if obj["kind"] != "Pod":
            return create(obj, *a, **kw)
        with lock:
            flight["now"] += 1
            flight["max"] = max(flight["max"], flight["now"])
        time.sleep(0.02)  # a commit's latency
        try:
            return create(obj, *a, **kw)
        finally:
            with lock:
                flight["now"] -= 1
    ctx.objects.create = slow_create
    rsc = ReplicaSetController(ctx)
    ctx.objects.create(replicaset(replicas=15))
    settle(ctx, rsc)
    assert len(pods(ctx)) == 15
    assert flight["max"] > 1, "one create at a time: bound by commit latency"


def _counting_creates(ctx, fail_from: int | None = None):
    """Wrap the store's create: count pod creates (not a name collision's
    retry), fail each from the ``fail_from``-th on with a 403 (a quota, say)."""
    from coxapi import errors

    create, lock = ctx.objects.create, threading.Lock()
    calls = {"n": 0}

    def counted(obj, *a, **kw):
        if obj["kind"] == "Pod":
            with lock:
                calls["n"] += 1
                n = calls["n"]
            if fail_from is not None and n >= fail_from:
                raise errors.Forbidden("exceeded quota: q, requested: pods=1")
            try:
                return create(obj, *a, **kw)
            except errors.AlreadyExists:
                # a generated name drawn twice (about 1 % of runs that make 500 pods):
                # the controller draws another, so this was no pod create
                with lock:
                    calls["n"] -= 1
                raise
        return create(obj, *a, **kw)
    ctx.objects.create = counted
    return calls


def test_one_sync_creates_at_most_a_burst_of_500_in_doubling_batches():
    from master.controllers import replicaset as rsmod

    ctx, _, _ = setup()
    calls = _counting_creates(ctx)
    rsc = ReplicaSetController(ctx)
    sizes = []
    each = rsmod.parallel.each

    def recording(fn, items):
        items = list(items)
        sizes.append(len(items))
        return each(fn, items)
    rsmod.parallel.each, restore = recording, each
    try:
        ctx.objects.create(replicaset(replicas=2_000_000_000))
        ctx.informers.relist()
        rsc.reconcile("default/web")
    finally:
        rsmod.parallel.each = restore
    assert calls["n"] == rsmod.BURST == 500
    assert sizes == [1, 2, 4, 8, 16, 32, 64, 128, 245]


def test_a_generated_name_drawn_twice_is_drawn_again_not_counted_as_a_pod(monkeypatch):
    from master.controllers import replicaset as rsmod

    ctx, _, rsc = setup(replicaset(replicas=3))
    calls = _counting_creates(ctx)
    drawn = iter(["web-same", "web-same"])
    generate = rsmod.names.generate
    monkeypatch.setattr(rsmod.names, "generate", lambda base: next(drawn, None) or generate(base))
    settle(ctx, rsc)
    assert calls["n"] == 3 and len(pods(ctx)) == 3
    assert "web-same" in {p["metadata"]["name"] for p in pods(ctx)}


def test_slow_start_stops_at_the_first_batch_with_a_failure():
    import pytest

    from master.controllers.base import RetryLater

    ctx, _, _ = setup()
    calls = _counting_creates(ctx, fail_from=5)  # 1 + 2 succeed, the batch of 4 fails
    rsc = ReplicaSetController(ctx)
    ctx.objects.create(replicaset(replicas=1000))
    ctx.informers.relist()
    with pytest.raises(RetryLater, match="exceeded quota"):
        rsc.reconcile("default/web")
    assert calls["n"] == 1 + 2 + 4
    assert len(pods(ctx)) == 4  # the first 3 and 1 of the failing batch of 4
    [cond] = rs_of(ctx)["status"]["conditions"]
    assert cond["type"] == "ReplicaFailure" and "exceeded quota" in cond["message"]
    # only the 4 made are expected: once seen, the next sync may try again
    assert not rsc.expectations.satisfied("default/web")
    ctx.informers.relist()
    assert rsc.expectations.satisfied("default/web")


def test_a_sync_sees_its_own_pods_and_its_namespaces_orphans_by_the_controller_index():
    foreign = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": "other-uid",
               "controller": True}
    ctx, _, rsc = setup(pod("orphan", labels=LABELS), pod("taken", labels=LABELS, owner=foreign),
                        pod("elsewhere", namespace="other", labels=LABELS),
                        replicaset(replicas=2))
    ctx.informers.relist()
    rs = rs_of(ctx)
    names = sorted(p["metadata"]["name"] for p in candidates(rsc.pods, rs))
    assert names == ["orphan"]  # not another controller's, not another namespace's
    settle(ctx, rsc)
    mine = sorted(p["metadata"]["name"] for p in controlled(rsc.pods, rs))
    assert len(mine) == 2 and "orphan" in mine  # adopted: now under the set's uid
    assert not rsc.pods.by_index(CONTROLLER_INDEX, ORPHAN + "default")
    assert [p["metadata"]["name"] for p in rsc.pods.by_index(CONTROLLER_INDEX, ORPHAN + "other")] \
        == ["elsewhere"]
