"""StatefulSet controller: stable names, ordered start/stop, Parallel, and
rolling updates from the highest ordinal down to the partition."""

from __future__ import annotations

from master.controllers.statefulset import LABEL_REVISION, StatefulSetController, revision
from master.controllers.testing import make_context

LABELS = {"app": "db"}


def statefulset(replicas=3, policy="OrderedReady", partition=0, image="demo:1"):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"replicas": replicas, "serviceName": "db", "podManagementPolicy": policy,
                     "selector": {"matchLabels": LABELS},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"partition": partition}},
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def setup(sts):
    ctx, clock = make_context()
    ctx.objects.create(sts)
    return ctx, StatefulSetController(ctx)


def settle(ctx, c, rounds=10):
    for _ in range(rounds):
        ctx.informers.relist()
        if not c.drain():
            return


def names(ctx):
    return sorted(p["metadata"]["name"] for p in ctx.objects.list("Pod", "default")[0])


def pod(ctx, name):
    return ctx.objects.get("Pod", "default", name)


def run(ctx, *pod_names):
    """What scheduler and node do: bind the pod, then report it Running and Ready."""
    for name in pod_names:
        def up(p):
            p["spec"]["nodeName"] = "n1"
            p["status"] = {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": "True"}]}
            return p
        ctx.objects.guaranteed_update("Pod", "default", name, up)


def finish_deletes(ctx):
    """The node stopped every terminating pod: remove them."""
    for p in ctx.objects.list("Pod", "default")[0]:
        if p["metadata"].get("deletionTimestamp"):
            ctx.objects.delete("Pod", "default", p["metadata"]["name"])


def edit(ctx, fn):
    ctx.objects.guaranteed_update("StatefulSet", "default", "db", lambda o: fn(o) or o)


def test_ordered_ready_creates_one_pod_at_a_time_with_a_stable_identity():
    ctx, c = setup(statefulset())
    settle(ctx, c)
    assert names(ctx) == ["db-0"]
    p = pod(ctx, "db-0")
    assert p["spec"]["hostname"] == "db-0" and p["spec"]["subdomain"] == "db"
    assert p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-0"
    assert p["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
    assert p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    settle(ctx, c)
    assert names(ctx) == ["db-0"], "db-1 waits until db-0 is Running and Ready"
    run(ctx, "db-0")
    settle(ctx, c)
    assert names(ctx) == ["db-0", "db-1"]
    run(ctx, "db-1")
    settle(ctx, c)
    run(ctx, "db-2")
    settle(ctx, c)
    st = ctx.objects.get("StatefulSet", "default", "db")["status"]
    assert st["replicas"] == 3 and st["readyReplicas"] == 3 and st["updatedReplicas"] == 3
    assert st["currentRevision"] == st["updateRevision"]


def test_parallel_creates_and_deletes_all_at_once():
    ctx, c = setup(statefulset(policy="Parallel"))
    settle(ctx, c)
    assert names(ctx) == ["db-0", "db-1", "db-2"]
    edit(ctx, lambda o: o["spec"].update(replicas=1))
    settle(ctx, c)
    assert names(ctx) == ["db-0"]  # unbound pods go at once


def test_scale_down_removes_the_highest_ordinal_first_and_waits_for_it():
    ctx, c = setup(statefulset())
    for i in range(3):
        settle(ctx, c)
        run(ctx, f"db-{i}")
    edit(ctx, lambda o: o["spec"].update(replicas=1))
    settle(ctx, c)
    assert pod(ctx, "db-2")["metadata"].get("deletionTimestamp")
    assert not pod(ctx, "db-1")["metadata"].get("deletionTimestamp")
    finish_deletes(ctx)
    settle(ctx, c)
    assert pod(ctx, "db-1")["metadata"].get("deletionTimestamp")
    finish_deletes(ctx)
    settle(ctx, c)
    assert names(ctx) == ["db-0"]


def test_a_replacement_waits_until_the_old_pod_of_its_ordinal_is_gone():
    ctx, c = setup(statefulset(replicas=1))
    settle(ctx, c)
    run(ctx, "db-0")
    old_uid = pod(ctx, "db-0")["metadata"]["uid"]
    ctx.objects.guaranteed_update("Pod", "default", "db-0", lambda p: {
        **p, "status": {"phase": "Failed"}})
    settle(ctx, c)
    assert pod(ctx, "db-0")["metadata"]["uid"] == old_uid  # terminating, not replaced
    finish_deletes(ctx)
    settle(ctx, c)
    assert pod(ctx, "db-0")["metadata"]["uid"] != old_uid


def test_rolling_update_goes_down_from_the_top_and_stops_at_the_partition():
    ctx, c = setup(statefulset(partition=1))
    for i in range(3):
        settle(ctx, c)
        run(ctx, f"db-{i}")
    settle(ctx, c)
    old_rev = ctx.objects.get("StatefulSet", "default", "db")["status"]["currentRevision"]
    edit(ctx, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="demo:2"))
    new_rev = revision(ctx.objects.get("StatefulSet", "default", "db"))
    settle(ctx, c)
    assert pod(ctx, "db-2")["metadata"].get("deletionTimestamp")
    assert not pod(ctx, "db-1")["metadata"].get("deletionTimestamp")
    finish_deletes(ctx)
    settle(ctx, c)
    assert pod(ctx, "db-2")["metadata"]["labels"][LABEL_REVISION] == new_rev
    assert pod(ctx, "db-2")["spec"]["containers"][0]["image"] == "demo:2"
    assert not pod(ctx, "db-1")["metadata"].get("deletionTimestamp"), "db-2 is not ready yet"
    run(ctx, "db-2")
    settle(ctx, c)
    assert pod(ctx, "db-1")["metadata"].get("deletionTimestamp")
    finish_deletes(ctx)
    settle(ctx, c)
    run(ctx, "db-1")
    settle(ctx, c)
    assert pod(ctx, "db-0")["metadata"]["labels"][LABEL_REVISION] == old_rev  # below partition
    st = ctx.objects.get("StatefulSet", "default", "db")["status"]
    assert (st["updatedReplicas"], st["currentReplicas"]) == (2, 1)
    assert st["currentRevision"] == old_rev and st["updateRevision"] == new_rev
    edit(ctx, lambda o: o["spec"]["updateStrategy"]["rollingUpdate"].update(partition=0))
    settle(ctx, c)
    assert pod(ctx, "db-0")["metadata"].get("deletionTimestamp")
    finish_deletes(ctx)
    settle(ctx, c)
    run(ctx, "db-0")
    settle(ctx, c)
    st = ctx.objects.get("StatefulSet", "default", "db")["status"]
    assert st["currentRevision"] == new_rev and st["updatedReplicas"] == 3


def test_claim_templates_give_each_ordinal_its_own_claim_kept_across_scale_down():
    sts = statefulset(replicas=2, policy="Parallel")
    sts["spec"]["volumeClaimTemplates"] = [{
        "metadata": {"name": "data", "labels": {"keep": "yes"}},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}}]
    sts["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    ctx, c = setup(sts)
    settle(ctx, c)

    def claims():
        return {x["metadata"]["name"]: x
                for x in ctx.objects.list("PersistentVolumeClaim", "default")[0]}
    assert sorted(claims()) == ["data-db-0", "data-db-1"]
    claim = claims()["data-db-1"]
    assert claim["metadata"]["labels"] == {"keep": "yes", **LABELS}
    assert "ownerReferences" not in claim["metadata"], "kept when the set goes"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pod(ctx, "db-1")["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-1"}}]
    uid = claim["metadata"]["uid"]

    edit(ctx, lambda o: o["spec"].__setitem__("replicas", 1))
    settle(ctx, c)
    finish_deletes(ctx)
    settle(ctx, c)
    assert names(ctx) == ["db-0"] and sorted(claims()) == ["data-db-0", "data-db-1"]
    edit(ctx, lambda o: o["spec"].__setitem__("replicas", 2))
    settle(ctx, c)
    assert names(ctx) == ["db-0", "db-1"]
    assert claims()["data-db-1"]["metadata"]["uid"] == uid
