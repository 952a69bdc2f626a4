"""The PV controller with the scheduler's volume binding, over the real
ObjectStore: WaitForFirstConsumer provisioning on the chosen node, static
binding, reclaim policies and claim protection."""

from __future__ import annotations

from coxapi.kinds.persistentvolumeclaim import PROTECTION
from master.controllers.persistentvolume import PersistentVolumeController
from master.controllers.statefulset import admitted
from master.controllers.testing import make_context, node, pod
from master.scheduler.loop import Scheduler
from master.storage import localpath
from tests.unit.test_storage_binder import claim, pv


def storage_node(name):
    n = node(name)
    n["metadata"]["annotations"] = {localpath.LOCAL_PATH_ROOT: f"/data/{name}/local-path"}
    return n


def setup(*objs):
    ctx, clock = make_context()
    ctx.objects.create(localpath.default_class())
    for o in objs:
        ctx.objects.create(admitted(o))
    sched = Scheduler(ctx)
    c = PersistentVolumeController(ctx)
    return ctx, sched, c


def settle(ctx, *loops, rounds=10):
    for _ in range(rounds):
        ctx.informers.relist()
        if not sum(loop.drain() for loop in loops):
            return


def get(ctx, kind, name, ns="default"):
    return ctx.objects.get(kind, ns if kind != "PersistentVolume" else None, name)


def volumes(ctx):
    return {v["metadata"]["name"]: v for v in ctx.objects.list("PersistentVolume")[0]}


def with_claim(name, claim_name="data", **kw):
    return pod(name, volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}],
               **kw)


def test_wait_for_first_consumer_provisions_on_the_node_the_scheduler_picked():
    ctx, sched, c = setup(storage_node("n1"), storage_node("n2"), claim())
    settle(ctx, c)
    data = get(ctx, "PersistentVolumeClaim", "data")
    assert data["spec"]["storageClassName"] == "local-path"  # the default class
    assert data["status"]["phase"] == "Pending" and not volumes(ctx), "waits for a consumer"
    assert PROTECTION in data["metadata"]["finalizers"]

    ctx.objects.create(with_claim("app", nodeSelector={"kubernetes.io/hostname": "n2"}))
    settle(ctx, sched, c)
    data = get(ctx, "PersistentVolumeClaim", "data")
    assert data["metadata"]["annotations"][localpath.SELECTED_NODE] == "n2"
    assert data["status"]["phase"] == "Bound"
    [vol] = volumes(ctx).values()
    assert data["spec"]["volumeName"] == vol["metadata"]["name"]
    assert vol["spec"]["local"]["path"].startswith("/data/n2/local-path/pvc-")
    assert vol["status"]["phase"] == "Bound"
    assert get(ctx, "Pod", "app")["spec"]["nodeName"] == "n2"

    # a new pod of the claim can only go where the data is
    ctx.objects.delete("Pod", "default", "app")
    ctx.objects.create(with_claim("again"))
    settle(ctx, sched, c)
    assert get(ctx, "Pod", "again")["spec"]["nodeName"] == "n2"


def test_volume_node_affinity_conflict_keeps_the_pod_pending():
    ctx, sched, c = setup(storage_node("n1"), pv("static", on_node="n2", cls=""),
                          claim(cls=""))
    settle(ctx, c)
    assert get(ctx, "PersistentVolumeClaim", "data")["spec"]["volumeName"] == "static"
    ctx.objects.create(with_claim("app"))
    settle(ctx, sched, c)
    p = get(ctx, "Pod", "app")
    assert not p["spec"].get("nodeName")
    cond = next(x for x in p["status"]["conditions"] if x["type"] == "PodScheduled")
    assert "volume node affinity conflict" in cond["message"]


def test_missing_claim_keeps_the_pod_pending_until_it_exists():
    ctx, sched, c = setup(storage_node("n1"))
    ctx.objects.create(with_claim("app"))
    settle(ctx, sched, c)
    cond = next(x for x in get(ctx, "Pod", "app")["status"]["conditions"]
                if x["type"] == "PodScheduled")
    assert 'persistentvolumeclaim "data" not found' in cond["message"]
    ctx.objects.create(admitted(claim()))
    settle(ctx, sched, c)
    assert get(ctx, "Pod", "app")["spec"]["nodeName"] == "n1"
    assert get(ctx, "PersistentVolumeClaim", "data")["status"]["phase"] == "Bound"


def delete_claim(ctx, c, sched):
    """What DELETE does to a claim with a finalizer: mark it."""
    def mark(cur):
        cur["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return cur
    ctx.objects.guaranteed_update("PersistentVolumeClaim", "default", "data", mark)
    settle(ctx, sched, c)


def claims(ctx):
    return [x["metadata"]["name"] for x in ctx.objects.list("PersistentVolumeClaim",
                                                            "default")[0]]


def test_a_claim_in_use_is_kept_until_its_pod_is_gone_then_its_volume_deleted():
    ctx, sched, c = setup(storage_node("n1"), claim())
    ctx.objects.create(with_claim("app"))
    settle(ctx, sched, c)
    [name] = volumes(ctx)
    delete_claim(ctx, c, sched)
    assert claims(ctx) == ["data"], "protected while app uses it"
    ctx.objects.delete("Pod", "default", "app")
    settle(ctx, sched, c)
    assert claims(ctx) == []
    assert volumes(ctx) == {}, f"{name} has reclaimPolicy Delete"


def test_retain_keeps_a_released_volume_that_no_new_claim_takes():
    ctx, sched, c = setup(storage_node("n1"), pv("keep", cls=""), claim(cls=""))
    settle(ctx, c)
    assert get(ctx, "PersistentVolume", "keep")["status"]["phase"] == "Bound"
    delete_claim(ctx, c, sched)
    assert claims(ctx) == []
    assert get(ctx, "PersistentVolume", "keep")["status"]["phase"] == "Released"
    ctx.objects.create(admitted(claim(cls="", uid="ignored")))
    settle(ctx, c)
    assert get(ctx, "PersistentVolumeClaim", "data")["status"]["phase"] == "Pending"


def test_a_finished_pod_does_not_hold_its_claim():
    ctx, sched, c = setup(storage_node("n1"), claim())
    ctx.objects.create(with_claim("job"))
    settle(ctx, sched, c)

    def done(cur):
        cur["status"]["phase"] = "Succeeded"
        return cur
    ctx.objects.guaranteed_update("Pod", "default", "job", done)
    delete_claim(ctx, c, sched)
    assert claims(ctx) == []
