"""Garbage collection, namespace deletion and pod GC."""

from __future__ import annotations

from master.controllers.garbagecollector import GarbageCollector
from master.controllers.namespace import NamespaceController
from master.controllers.podgc import PodGarbageCollector
from master.controllers.testing import make_context, node, pod


def settle(ctx, *cs):
    for _ in range(10):
        ctx.informers.relist()
        if not sum(c.drain() for c in cs):
            return


def ref(obj, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller}


def rs(name):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": name}},
                     "template": {"metadata": {"labels": {"a": name}}, "spec": {}}}}


def names(ctx, kind, ns="default"):
    return {o["metadata"]["name"] for o in ctx.objects.list(kind, ns)[0]}


def test_dependents_of_a_deleted_owner_are_deleted_in_the_background():
    ctx, _ = make_context()
    owner = ctx.objects.create(rs("web"))
    keep = ctx.objects.create(rs("keep"))
    ctx.objects.create(pod("p1", owner=ref(owner)))
    ctx.objects.create(pod("p2", owner=ref(owner), node_name="n1"))
    ctx.objects.create(pod("p3", owner=ref(keep)))
    ctx.objects.create(pod("free"))
    gc = GarbageCollector(ctx)
    settle(ctx, gc)
    assert names(ctx, "Pod") == {"p1", "p2", "p3", "free"}
    ctx.objects.delete("ReplicaSet", "default", "web")
    settle(ctx, gc)
    left = {p["metadata"]["name"]: p for p in ctx.objects.list("Pod", "default")[0]}
    assert "p1" not in left  # unbound: removed
    assert left["p2"]["metadata"].get("deletionTimestamp")  # bound: graceful, for its node
    assert {"p3", "free"} <= set(left)


def test_configmaps_and_secrets_are_watched_by_their_metadata_only_and_still_collected():
    ctx, _ = make_context()
    owner = ctx.objects.create(rs("web"))
    meta = {"namespace": "default", "ownerReferences": [ref(owner)]}
    ctx.objects.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"big": "x" * 4096},
                        "metadata": {"name": "conf", **meta}})
    ctx.objects.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "data": {"password": "aHVudGVyMg=="}, "metadata": {"name": "cred", **meta}})
    ctx.objects.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"},
                        "metadata": {"name": "free", "namespace": "default"}})
    gc = GarbageCollector(ctx)
    settle(ctx, gc)
    for kind, name in (("ConfigMap", "conf"), ("Secret", "cred")):
        cached = gc.informers[kind].get(f"default/{name}")
        assert set(cached) == {"apiVersion", "kind", "metadata"}, cached  # no data, no type
        assert cached["metadata"]["ownerReferences"] == [ref(owner)]
    assert gc.informers["Pod"] is ctx.informers["Pod"]  # full informers stay shared
    ctx.objects.delete("ReplicaSet", "default", "web")
    settle(ctx, gc)
    assert names(ctx, "ConfigMap") == {"free"} and names(ctx, "Secret") == set()


def test_owner_missing_from_the_cache_but_in_the_store_is_not_treated_as_gone():
    ctx, _ = make_context()
    gc = GarbageCollector(ctx)
    ctx.informers.relist()  # the caches are now behind what follows
    owner = ctx.objects.create(rs("web"))
    ctx.objects.create(pod("p1", owner=ref(owner)))
    gc.informers["Pod"].relist()  # the pod is seen, its owner is not
    gc._dependent("Pod", gc.informers["Pod"].get("default/p1"))
    gc.drain()
    assert names(ctx, "Pod") == {"p1"}


def test_a_recreated_owner_with_the_same_name_does_not_adopt_old_dependents():
    ctx, _ = make_context()
    old = ctx.objects.create(rs("web"))
    ctx.objects.create(pod("p1", owner=ref(old)))
    ctx.objects.delete("ReplicaSet", "default", "web")
    ctx.objects.create(rs("web"))  # new uid
    gc = GarbageCollector(ctx)
    settle(ctx, gc)
    assert names(ctx, "Pod") == set()


def test_only_dangling_references_are_dropped_when_another_owner_remains():
    ctx, _ = make_context()
    a, b = ctx.objects.create(rs("a")), ctx.objects.create(rs("b"))
    ctx.objects.create(pod("p", owner=ref(a)))
    ctx.objects.guaranteed_update("Pod", "default", "p", lambda o: {**o, "metadata": {
        **o["metadata"], "ownerReferences": [ref(a), ref(b, controller=False)]}})
    gc = GarbageCollector(ctx)
    settle(ctx, gc)
    ctx.objects.delete("ReplicaSet", "default", "a")
    settle(ctx, gc)
    p = ctx.objects.get("Pod", "default", "p")
    assert [r["name"] for r in p["metadata"]["ownerReferences"]] == ["b"]


def test_foreground_deletion_removes_dependents_then_the_owner():
    ctx, _ = make_context()
    owner = ctx.objects.create(rs("web"))
    ctx.objects.create(pod("p1", owner=ref(owner)))
    gc = GarbageCollector(ctx)
    settle(ctx, gc)
    ctx.objects.guaranteed_update("ReplicaSet", "default", "web", lambda o: {**o, "metadata": {
        **o["metadata"], "finalizers": ["foregroundDeletion"],
        "deletionTimestamp": "2030-01-01T00:00:00Z"}})
    settle(ctx, gc)
    assert names(ctx, "Pod") == set()
    assert names(ctx, "ReplicaSet") == set()


def namespace(name, terminating=False):
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
          "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    return ns


def test_namespace_deletion_empties_the_namespace_then_removes_it():
    ctx, _ = make_context()
    ctx.objects.create(namespace("team"))
    ctx.objects.create(namespace("other"))
    ctx.objects.create(pod("bound", namespace="team", node_name="n1"))
    ctx.objects.create(pod("unbound", namespace="team"))
    ctx.objects.create(pod("elsewhere", namespace="other"))
    ctx.objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "cfg", "namespace": "team"}, "data": {}})
    nc = NamespaceController(ctx)
    settle(ctx, nc)
    assert names(ctx, "Namespace", None) == {"team", "other"}
    ctx.objects.guaranteed_update("Namespace", None, "team", lambda o: {
        **o, "metadata": {**o["metadata"], "deletionTimestamp": "2030-01-01T00:00:00Z"},
        "status": {"phase": "Terminating"}})
    settle(ctx, nc)
    assert names(ctx, "ConfigMap", "team") == set()
    # the bound pod is stopping on its node: the namespace waits for it
    assert names(ctx, "Pod", "team") == {"bound"}
    assert names(ctx, "Namespace", None) == {"team", "other"}
    ctx.objects.delete("Pod", "team", "bound")  # the node agent finished it
    nc.queue.add("team")
    settle(ctx, nc)
    assert names(ctx, "Namespace", None) == {"other"}
    assert names(ctx, "Pod", "other") == {"elsewhere"}


def test_pod_gc_deletes_pods_of_vanished_nodes_and_excess_terminated_pods():
    ctx, _ = make_context(terminated_pod_gc_threshold=1)
    ctx.objects.create(node("alive"))
    ctx.objects.create(pod("on-alive", node_name="alive", phase="Running"))
    ctx.objects.create(pod("on-ghost", node_name="ghost", phase="Running"))
    ctx.objects.create(pod("done1", node_name="alive", phase="Succeeded"))
    ctx.objects.create(pod("done2", node_name="alive", phase="Failed"))
    gc = PodGarbageCollector(ctx)
    ctx.informers.relist()
    gc.collect()
    left = names(ctx, "Pod")
    assert "on-ghost" not in left and "on-alive" in left
    assert len(left & {"done1", "done2"}) == 1
