"""Namespace rules, graceful pod deletion, finalizers and propagation policies."""

from __future__ import annotations

import pytest

from .api_harness import Api, CountingStore, deployment, pod


@pytest.fixture
def api() -> Api:
    return Api()

POD = "/api/v1/namespaces/default/pods"


def test_system_namespaces_exist(api):
    names = {n["metadata"]["name"] for n in api.get("/api/v1/namespaces").json["items"]}
    assert {"default", "kube-system", "kube-node-lease"} <= names
    assert all(n["status"]["phase"] == "Active" for n in api.get("/api/v1/namespaces").json["items"])


def test_creating_in_a_missing_namespace_is_404_naming_it(api):
    r = api.post("/api/v1/namespaces/ghost/pods", pod("p", ns="ghost"))
    assert r.status_code == 404 and 'namespaces "ghost" not found' in r.json["message"]


def test_deleting_a_namespace_marks_it_terminating_and_refuses_new_objects(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    api.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "old"}})
    r = api.delete("/api/v1/namespaces/team")
    assert r.status_code == 200
    assert r.json["metadata"]["deletionTimestamp"] and r.json["status"]["phase"] == "Terminating"
    assert api.get("/api/v1/namespaces/team").json["status"]["phase"] == "Terminating"
    r = api.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "new"}})
    assert r.status_code == 403 and r.json["reason"] == "Forbidden"
    # existing content stays for the namespace controller to remove
    assert api.get("/api/v1/namespaces/team/configmaps/old").status_code == 200
    assert api.delete("/api/v1/namespaces/team").status_code == 200  # idempotent


def test_system_namespaces_cannot_be_deleted(api):
    for name in ("default", "kube-system"):
        assert api.delete(f"/api/v1/namespaces/{name}").status_code == 403


def test_bound_pod_deletion_is_graceful(api):
    api.post(POD, pod("p", node="n1"))
    r = api.delete(f"{POD}/p")
    assert r.status_code == 200
    m = r.json["metadata"]
    assert m["deletionTimestamp"] and m["deletionGracePeriodSeconds"] == 30
    assert api.get(f"{POD}/p").status_code == 200
    # the node agent confirms with grace 0 once the containers stopped
    r = api.delete(f"{POD}/p", {"kind": "DeleteOptions", "apiVersion": "v1",
                                "gracePeriodSeconds": 0})
    assert r.status_code == 200
    assert api.get(f"{POD}/p").status_code == 404


def test_grace_period_comes_from_the_request_or_the_pod(api):
    api.post(POD, pod("a", node="n1", terminationGracePeriodSeconds=7))
    assert api.delete(f"{POD}/a").json["metadata"]["deletionGracePeriodSeconds"] == 7
    api.post(POD, pod("b", node="n1"))
    r = api.delete(f"{POD}/b", query={"gracePeriodSeconds": "3"})
    assert r.json["metadata"]["deletionGracePeriodSeconds"] == 3


def test_unbound_pods_and_zero_grace_are_removed_at_once(api):
    api.post(POD, pod("unbound"))
    assert api.delete(f"{POD}/unbound").status_code == 200
    assert api.get(f"{POD}/unbound").status_code == 404


def test_a_terminating_pod_keeps_accepting_status_updates(api):
    api.post(POD, pod("p", node="n1"))
    api.delete(f"{POD}/p")
    r = api.patch(f"{POD}/p/status", {"status": {"phase": "Succeeded"}})
    assert r.status_code == 200 and r.json["metadata"]["deletionTimestamp"]
    assert api.get(f"{POD}/p").status_code == 200


def test_delete_preconditions(api):
    created = api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}}).json
    r = api.delete("/api/v1/namespaces/default/configmaps/c",
                   {"preconditions": {"uid": "not-it"}})
    assert r.status_code == 409
    r = api.delete("/api/v1/namespaces/default/configmaps/c",
                   {"preconditions": {"uid": created["metadata"]["uid"]}})
    assert r.status_code == 200


def test_bad_delete_options_are_400(api):
    api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    r = api.delete("/api/v1/namespaces/default/configmaps/c", {"propagationPolicy": "Sometimes"})
    assert r.status_code == 400 and "propagationPolicy" in r.json["message"]
    r = api.delete("/api/v1/namespaces/default/configmaps/c", {"gracePeriodSeconds": -2})
    assert r.status_code == 400


def _owned_pod(api: Api, name: str, owner: dict) -> None:
    body = pod(name)
    body["metadata"]["ownerReferences"] = [{
        "apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert api.post(POD, body).status_code == 201


def test_orphan_propagation_strips_owner_references(api):
    rs = {**deployment("web"), "kind": "ReplicaSet"}
    owner = api.post("/apis/apps/v1/namespaces/default/replicasets", rs).json
    _owned_pod(api, "web-1", owner)
    r = api.delete("/apis/apps/v1/namespaces/default/replicasets/web",
                   {"propagationPolicy": "Orphan"})
    assert r.status_code == 200
    assert api.get("/apis/apps/v1/namespaces/default/replicasets/web").status_code == 404
    assert "ownerReferences" not in api.get(f"{POD}/web-1").json["metadata"]


def test_background_propagation_leaves_dependents_to_the_garbage_collector(api):
    rs = {**deployment("web"), "kind": "ReplicaSet"}
    owner = api.post("/apis/apps/v1/namespaces/default/replicasets", rs).json
    _owned_pod(api, "web-1", owner)
    assert api.delete("/apis/apps/v1/namespaces/default/replicasets/web").status_code == 200
    refs = api.get(f"{POD}/web-1").json["metadata"]["ownerReferences"]
    assert refs[0]["uid"] == owner["metadata"]["uid"]


def test_foreground_deletion_waits_on_the_finalizer(api):
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    api.post("/apis/apps/v1/namespaces/default/deployments", deployment("web"))
    r = api.delete(path, {"propagationPolicy": "Foreground"})
    assert r.status_code == 200
    m = api.get(path).json["metadata"]
    assert m["deletionTimestamp"] and m["finalizers"] == ["foregroundDeletion"]
    # the garbage collector removes the finalizer once dependents are gone: the object goes
    r = api.patch(path, {"metadata": {"finalizers": None}})
    assert r.status_code == 200
    assert api.get(path).status_code == 404


def test_an_event_written_through_the_api_lives_its_ttl_after_its_last_write():
    """Each write takes the store lease of its minute (as kube-apiserver gives
    every Event write an etcd lease): an update extends the Event's life."""
    from raftstore import MemoryStore
    clock = [1000.0]
    api = Api(store=MemoryStore(clock=lambda: clock[0]), event_ttl_seconds=3600)
    api.state.event_leases.clock = lambda: clock[0]
    ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
          "reason": "Pulled", "type": "Normal"}
    assert api.post("/api/v1/namespaces/default/events", ev).status_code == 201
    clock[0] += 3000
    cur = api.get("/api/v1/namespaces/default/events/e").json
    cur["count"] = 2
    assert api.put("/api/v1/namespaces/default/events/e", cur).status_code == 200
    clock[0] += 3500  # the creation's lease has run out; the update's has not
    assert api.get("/api/v1/namespaces/default/events/e").status_code == 200
    clock[0] += 200  # the TTL and the lease's minute of sharing after the update
    assert api.get("/api/v1/namespaces/default/events/e").status_code == 404
    # other kinds have no TTL
    api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    clock[0] += 100_000
    assert api.get("/api/v1/namespaces/default/configmaps/c").status_code == 200


def test_creating_in_a_namespace_reads_it_from_this_replica_without_a_raft_read():
    store = CountingStore()
    api = Api(store)
    before = store.barriers
    assert api.post("/api/v1/namespaces/default/configmaps",
                    {"metadata": {"name": "c"}}).status_code == 201
    assert store.barriers == before


def test_a_namespace_this_replica_has_not_seen_yet_is_confirmed_by_a_linearizable_read():
    store = CountingStore()
    api = Api(store)
    api.post("/api/v1/namespaces", {"metadata": {"name": "new"}})
    store.behind.add("/registry/namespaces/new")
    before = store.barriers
    assert api.post("/api/v1/namespaces/new/configmaps",
                    {"metadata": {"name": "c"}}).status_code == 201
    assert store.barriers == before + 1
    r = api.post("/api/v1/namespaces/ghost/configmaps", {"metadata": {"name": "c"}})
    assert r.status_code == 404 and 'namespaces "ghost" not found' in r.json["message"]


def test_an_update_at_the_version_this_replica_holds_needs_no_raft_read():
    """As Kubernetes' GuaranteedUpdate starts from the watch cache: the writer's
    version found here is what the compare-and-swap checks anyway."""
    store = CountingStore()
    api = Api(store)
    path = "/api/v1/namespaces/default/pods/p"
    created = api.post("/api/v1/namespaces/default/pods", pod("p")).json
    before = store.barriers
    r = api.put(f"{path}/status", {**created, "status": {"phase": "Running"}})
    assert r.status_code == 200 and r.json["status"]["phase"] == "Running"
    assert r.json["spec"] == created["spec"]
    assert store.barriers == before
    # The body's version is older than this replica's: the compare-and-swap could
    # only fail, so the Conflict comes at once, with no Raft read.
    r = api.put(f"{path}/status", {**created, "status": {"phase": "Failed"}})
    assert r.status_code == 409 and store.barriers == before
    # This replica lags behind the writer's version: read through Raft, and apply.
    current = api.get(path).json
    store.lagging["/registry/pods/default/p"] = store.get("/registry/pods/default/p", False)
    api.put(f"{path}/status", {**current, "status": {"phase": "Succeeded"}})
    latest = api.get(path).json
    before = store.barriers
    r = api.put(f"{path}/status", {**latest, "status": {"phase": "Failed"}})
    assert r.status_code == 200 and r.json["status"]["phase"] == "Failed"
    assert store.barriers == before + 1
    # No version given: always the latest.
    store.lagging.clear()
    body = {**r.json, "metadata": {**r.json["metadata"], "resourceVersion": ""}}
    assert api.put(path, body).status_code == 200 and store.barriers == before + 2
