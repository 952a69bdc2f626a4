"""The resource verbs over HTTP (create_app + test client + MemoryStore)."""

from __future__ import annotations

import pytest

from coxapi import kinds
from tests.support import wait_until

from .api_harness import ADMIN_TOKEN, Api, CountingStore, deployment, pod


@pytest.fixture
def api() -> Api:
    return Api()

# One valid object per kind; each must survive create/get/list/update/delete.
SAMPLES = {
    "Namespace": {"metadata": {"name": "team-a"}},
    "Node": {"metadata": {"name": "n1"}, "spec": {}},
    "Pod": pod("p1", ns=None),
    "Service": {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
                                                     "ports": [{"port": 80}]}},
    "Endpoints": {"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}]},
    "ConfigMap": {"metadata": {"name": "cfg"}, "data": {"k": "v"}},
    "Secret": {"metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}},
    "Event": {"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p1"},
              "reason": "Scheduled", "message": "assigned", "type": "Normal"},
    "ReplicaSet": {**deployment("rs1"), "kind": "ReplicaSet"},
    "Deployment": deployment("d1"),
    "StatefulSet": {**deployment("sts1"), "kind": "StatefulSet"},
    "Lease": {"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1",
                                                   "leaseDurationSeconds": 40}},
    "ResourceQuota": {"metadata": {"name": "q"}, "spec": {"hard": {"count/secrets": "10"}}},
    "PersistentVolume": {"metadata": {"name": "pv1"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/srv/pv1"}}},
    "PersistentVolumeClaim": {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    "StorageClass": {"metadata": {"name": "fast"}, "provisioner": "example.com/fast"},
    "Job": {"metadata": {"name": "j1"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}},
    "CronJob": {"metadata": {"name": "cj1"}, "spec": {
        "schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}},
    "DaemonSet": {**deployment("ds1"), "kind": "DaemonSet"},
    "HorizontalPodAutoscaler": {"metadata": {"name": "h1"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d1"},
        "maxReplicas": 5}},
    "ServiceAccount": {"metadata": {"name": "robot"}},
    "Role": {"metadata": {"name": "reader"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
    "ClusterRole": {"metadata": {"name": "system:reader"}, "rules": [
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]},
    "RoleBinding": {"metadata": {"name": "rb"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "User", "name": "alice"}]},
    "ClusterRoleBinding": {"metadata": {"name": "crb"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}]},
}
# Reviews are answered, never stored (test_api_rbac).
STORED = [k for k in kinds.KINDS if not k.strategy.review]


def _body(kind: kinds.Kind) -> dict:
    import copy
    body = copy.deepcopy(SAMPLES[kind.kind])
    body["kind"], body["apiVersion"] = kind.kind, kind.api_version
    body["metadata"].pop("namespace", None)
    return body


@pytest.mark.parametrize("kind", STORED, ids=lambda k: k.kind)
def test_crud_for_every_kind(api, kind):
    body = _body(kind)
    name = body["metadata"]["name"]
    ns = "default" if kind.namespaced else None
    r = api.post(kind.path(ns), body)
    assert r.status_code == 201, r.json
    created = r.json
    assert created["kind"] == kind.kind and created["apiVersion"] == kind.api_version
    assert created["metadata"]["uid"] and created["metadata"]["creationTimestamp"]
    if kind.namespaced:
        assert created["metadata"]["namespace"] == "default"

    r = api.get(kind.path(ns, name))
    assert r.status_code == 200 and r.json["metadata"]["uid"] == created["metadata"]["uid"]

    r = api.get(kind.path(ns))
    assert r.status_code == 200
    assert r.json["kind"] == f"{kind.kind}List"
    assert name in [i["metadata"]["name"] for i in r.json["items"]]
    assert int(r.json["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])

    updated = dict(r.json["items"][[i["metadata"]["name"] for i in r.json["items"]].index(name)])
    updated["metadata"] = {**updated["metadata"], "labels": {"touched": "yes"}}
    r = api.put(kind.path(ns, name), updated)
    assert r.status_code == 200, r.json
    assert r.json["metadata"]["labels"] == {"touched": "yes"}
    assert int(r.json["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    if kind.kind == "Namespace":
        return  # deletion of namespaces is covered in test_api_deletion
    r = api.delete(kind.path(ns, name))
    assert r.status_code == 200, r.json
    if created["metadata"].get("finalizers"):  # a claim's protection: marked, not gone
        assert api.get(kind.path(ns, name)).json["metadata"]["deletionTimestamp"]
        return
    assert api.get(kind.path(ns, name)).status_code == 404


def test_list_across_all_namespaces(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    assert api.post("/api/v1/namespaces/default/pods", pod("a")).status_code == 201
    assert api.post("/api/v1/namespaces/other/pods", pod("b", ns="other")).status_code == 201
    r = api.get("/api/v1/pods")
    assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in r.json["items"]) == \
        [("default", "a"), ("other", "b")]
    r = api.get("/api/v1/namespaces/other/pods")
    assert [i["metadata"]["name"] for i in r.json["items"]] == ["b"]


def test_create_twice_is_already_exists(api):
    assert api.post("/api/v1/namespaces/default/pods", pod("p")).status_code == 201
    r = api.post("/api/v1/namespaces/default/pods", pod("p"))
    assert r.status_code == 409
    assert r.json["reason"] == "AlreadyExists" and r.json["kind"] == "Status"


def test_update_with_a_stale_resource_version_is_a_conflict(api):
    created = api.post("/api/v1/namespaces/default/configmaps",
                       {"metadata": {"name": "c"}, "data": {"v": "1"}}).json
    first = {**created, "data": {"v": "2"}}
    assert api.put("/api/v1/namespaces/default/configmaps/c", first).status_code == 200
    stale = {**created, "data": {"v": "3"}}  # still carries the old resourceVersion
    r = api.put("/api/v1/namespaces/default/configmaps/c", stale)
    assert r.status_code == 409 and r.json["reason"] == "Conflict"
    assert api.get("/api/v1/namespaces/default/configmaps/c").json["data"] == {"v": "2"}


def test_update_of_a_missing_object_is_not_found_except_where_kubernetes_creates(api):
    r = api.put("/api/v1/namespaces/default/configmaps/nope",
                {"metadata": {"name": "nope"}, "data": {}})
    assert r.status_code == 404
    lease = {"metadata": {"name": "n9"}, "spec": {"holderIdentity": "n9"}}
    r = api.put("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n9", lease)
    assert r.status_code == 201


def test_generation_grows_only_with_the_spec(api):
    d = api.post("/apis/apps/v1/namespaces/default/deployments", deployment("web")).json
    assert d["metadata"]["generation"] == 1
    d["metadata"]["labels"] = {"app": "web", "x": "y"}
    d = api.put("/apis/apps/v1/namespaces/default/deployments/web", d).json
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 5
    d = api.put("/apis/apps/v1/namespaces/default/deployments/web", d).json
    assert d["metadata"]["generation"] == 2


def test_server_owned_metadata_cannot_be_set_by_clients(api):
    body = pod("p")
    body["metadata"].update(uid="mine", creationTimestamp="2000-01-01T00:00:00Z",
                            deletionTimestamp="2000-01-01T00:00:00Z")
    created = api.post("/api/v1/namespaces/default/pods", body).json
    assert created["metadata"]["uid"] != "mine"
    assert "deletionTimestamp" not in created["metadata"]
    created["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z"
    updated = api.put("/api/v1/namespaces/default/pods/p", created).json
    assert "deletionTimestamp" not in updated["metadata"]


def test_generate_name_appends_five_characters(api):
    body = pod("", ns=None)
    body["metadata"] = {"generateName": "web-"}
    names = set()
    for _ in range(3):
        r = api.post("/api/v1/namespaces/default/pods", body)
        assert r.status_code == 201
        name = r.json["metadata"]["name"]
        assert name.startswith("web-") and len(name) == len("web-") + 5
        names.add(name)
    assert len(names) == 3


def test_missing_name_is_invalid(api):
    body = pod("x")
    del body["metadata"]["name"]
    r = api.post("/api/v1/namespaces/default/pods", body)
    assert r.status_code == 422
    assert r.json["details"]["causes"][0]["field"] == "metadata.name"


# ---- bad input ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b"\xff\xfe", b"", b'{"a": NaN}'])
def test_malformed_bodies_are_400(api, raw):
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=raw)
    assert r.status_code == 400, r.json
    assert r.json["kind"] == "Status" and r.json["reason"] == "BadRequest"


def test_yaml_bodies_are_accepted(api):
    raw = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n"
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=raw,
                    content_type="application/yaml")
    assert r.status_code == 201 and r.json["data"] == {"a": "b"}


@pytest.mark.parametrize("override", [{"kind": "Secret"}, {"apiVersion": "apps/v1"}])
def test_kind_or_api_version_mismatching_the_url_is_400(api, override):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, **override}
    r = api.post("/api/v1/namespaces/default/configmaps", body)
    assert r.status_code == 400
    assert api.get("/api/v1/namespaces/default/configmaps/c").status_code == 404


def test_namespace_in_body_mismatching_the_url_is_400(api):
    r = api.post("/api/v1/namespaces/default/pods", pod("p", ns="kube-system"))
    assert r.status_code == 400 and "namespace" in r.json["message"]


def test_name_in_body_mismatching_the_url_is_400(api):
    api.post("/api/v1/namespaces/default/pods", pod("p"))
    r = api.put("/api/v1/namespaces/default/pods/p", pod("q"))
    assert r.status_code == 400


def test_invalid_objects_get_422_naming_fields_and_never_reach_the_store(api):
    rev = api.store.revision()
    body = pod("p", restartPolicy="Sometimes")
    body["spec"]["containers"].append({"name": "app", "image": ""})
    r = api.post("/api/v1/namespaces/default/pods", body)
    assert r.status_code == 422 and r.json["reason"] == "Invalid"
    fields = {c["field"] for c in r.json["details"]["causes"]}
    assert {"spec.restartPolicy", "spec.containers[1].name", "spec.containers[1].image"} <= fields
    assert api.store.revision() == rev


def test_unknown_resources_and_methods_are_statuses(api):
    r = api.get("/api/v1/namespaces/default/gizmos")
    assert r.status_code == 404 and r.json["kind"] == "Status"
    r = api.request("PUT", "/api/v1/namespaces/default/pods")
    assert r.status_code == 405 and r.json["kind"] == "Status"
    r = api.get("/nowhere")
    assert r.status_code == 404 and r.json["kind"] == "Status"


def test_bad_query_parameters_are_400_naming_them(api):
    for q, name in (({"limit": "x"}, "limit"), ({"labelSelector": "a in (b"}, "labelSelector"),
                    ({"fieldSelector": "spec.color=red"}, "fieldSelector"),
                    ({"continue": "garbage"}, "continue"),
                    ({"resourceVersion": "abc"}, "resourceVersion")):
        r = api.get("/api/v1/pods", query=q)
        assert r.status_code == 400, (q, r.json)
        assert name in r.json["message"]


def test_internal_errors_are_a_500_status_without_a_traceback(api, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(api.objects, "get", boom)
    r = api.get("/api/v1/namespaces/default/pods/x")
    assert r.status_code == 500 and r.json["kind"] == "Status"
    assert "secret detail" not in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)


def test_no_quorum_is_503(api, monkeypatch):
    from raftstore import errors as store_errors

    def unavailable(*a, **kw):
        raise store_errors.Unavailable("no quorum within 3s")
    monkeypatch.setattr(api.store, "put", unavailable)
    monkeypatch.setattr(api.store, "get", unavailable)
    r = api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    assert r.status_code == 503 and r.json["reason"] == "ServiceUnavailable"
    r = api.get("/api/v1/namespaces/default/configmaps/c")
    assert r.status_code == 503


def test_stale_reads_are_explicit(api, monkeypatch):
    api.post("/api/v1/namespaces/default/pods", pod("p"))
    cache = api.state.caches.get(kinds.lookup("Pod"))
    wait_until(cache.ready.is_set, 5, what="the watch cache of pods filled")
    seen = []
    real = api.store.range

    def spy(prefix, **kw):
        seen.append(kw.get("linearizable", True))
        return real(prefix, **kw)
    monkeypatch.setattr(api.store, "range", spy)
    # consistent: a linearizable read of the revision, then the cache once caught up with it
    assert [o["metadata"]["name"] for o in api.get("/api/v1/pods").json["items"]] == ["p"]
    assert seen == [True]
    # resourceVersion=0: any recent state, with no read of the store at all
    assert len(api.get("/api/v1/pods", query={"resourceVersion": "0"}).json["items"]) == 1
    assert seen == [True]
    # resourceVersion=N: not older than N, from the cache once it has caught up with N
    # (no read of the store); a version this replica has not reached: the store, consistently
    rv = api.post("/api/v1/namespaces/default/pods", pod("q")).json["metadata"]["resourceVersion"]
    seen.clear()
    listed = api.get("/api/v1/pods", query={"resourceVersion": rv}).json
    assert [o["metadata"]["name"] for o in listed["items"]] == ["p", "q"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(rv) and seen == []
    ahead = str(int(rv) + 1000)
    assert len(api.get("/api/v1/pods", query={"resourceVersion": ahead}).json["items"]) == 2
    assert seen == [True]


def test_a_get_not_older_than_a_version_this_replica_has_reached_reads_no_store():
    api = Api(CountingStore())
    # Kubernetes' GET with resourceVersion=N (not older than N) is the watch cache's;
    # an endpoint drain reads the leader's record of the proxies this way, per stopped pod
    api.post("/api/v1/namespaces/default/pods", pod("p"))
    cache = api.state.caches.get(kinds.lookup("Pod"))
    wait_until(cache.ready.is_set, 5, what="the watch cache of pods filled")
    rv = api.post("/api/v1/namespaces/default/pods", pod("q")).json["metadata"]["resourceVersion"]
    q = "/api/v1/namespaces/default/pods/q"
    before = api.store.barriers
    got = api.get(q, query={"resourceVersion": rv})
    assert got.status_code == 200 and got.json["metadata"]["name"] == "q"
    assert api.get("/api/v1/namespaces/default/pods/none",
                   query={"resourceVersion": rv}).status_code == 404
    via_loop = api.asgi_request("GET", q, {"Authorization": f"Bearer {ADMIN_TOKEN}"}, None,
                                {"resourceVersion": rv})
    assert via_loop.status_code == 200 and via_loop.json["metadata"]["name"] == "q"
    assert api.store.barriers == before  # no read through Raft
    # a version this replica has not reached, and no version at all: consistently
    ahead = str(int(rv) + 1000)
    assert api.get(q, query={"resourceVersion": ahead}).json["metadata"]["name"] == "q"
    assert api.store.barriers == before + 1
    assert api.get(q).json["metadata"]["name"] == "q"
    assert api.store.barriers == before + 2


def test_hostile_bodies_are_400_not_500(api):
    deep = b'{"metadata":{"name":"x"},"data":' + b'{"a":' * 5000 + b'1' + b'}' * 5000 + b'}'
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=deep)
    assert r.status_code == 400
    nested = b'{"metadata":{"name":"x"},"data":' + b'{"a":' * 500 + b'1' + b'}' * 500 + b'}'
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=nested)
    assert r.status_code == 400 and "nested" in r.json["message"]
    # the boundary: 100 levels are read, 101 are not, in JSON and in block YAML
    # (which nests without a single bracket)
    def nest(levels: int) -> bytes:  # as many brackets as levels
        return b'{"a":' * (levels - 1) + b'{}' + b'}' * (levels - 1)
    assert api.request("POST", "/api/v1/namespaces/default/configmaps",
                       raw=nest(101)).json["message"].endswith("nested more than 100 levels deep")
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=nest(100))
    assert r.status_code in (400, 422) and "nested" not in r.json["message"]  # no name
    block = "metadata:\n  name: y\ndata:\n" + "".join(
        "  " * (i + 1) + "a:\n" for i in range(100)) + "  " * 101 + "b: c\n"
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=block.encode(),
                    content_type="application/yaml")
    assert r.status_code == 400 and "nested" in r.json["message"]
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    r = api.request("POST", "/api/v1/namespaces/default/configmaps", raw=bomb,
                    content_type="application/yaml")
    assert r.status_code == 400


def test_oversized_bodies_are_413():
    small = Api(max_body_bytes=1024)
    body = {"metadata": {"name": "big"}, "data": {"k": "x" * 4096}}
    r = small.post("/api/v1/namespaces/default/configmaps", body)
    assert r.status_code == 413 and r.json["kind"] == "Status"


def test_delete_collection_with_a_selector(api):
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        api.post("/api/v1/namespaces/default/configmaps",
                 {"metadata": {"name": name, "labels": {"tier": tier}}})
    r = api.delete("/api/v1/namespaces/default/configmaps", query={"labelSelector": "tier=web"})
    assert r.status_code == 200
    assert sorted(i["metadata"]["name"] for i in r.json["items"]) == ["a", "b"]
    left = api.get("/api/v1/namespaces/default/configmaps").json["items"]
    assert [i["metadata"]["name"] for i in left] == ["c"]


def test_store_errors_outside_object_calls_map_to_statuses(api, monkeypatch):
    from raftstore import errors as store_errors

    def unavailable(ttl):
        raise store_errors.Unavailable("no quorum")
    monkeypatch.setattr(api.store, "lease_grant", unavailable)
    ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
          "type": "Normal"}
    r = api.post("/api/v1/namespaces/default/events", ev)
    assert r.status_code == 503 and r.json["kind"] == "Status"


def test_a_delete_starts_from_this_replicas_copy_and_a_stale_one_is_retried(api, monkeypatch):
    # (Kubernetes' delete starts from the watch cache's copy): no Raft read when the
    # copy is current; a stale copy fails the compare-and-swap, and the retry reads
    # the latest through Raft; nothing to write, or a precondition the copy fails:
    # through Raft
    for name in ("a", "b", "c"):
        api.post("/api/v1/namespaces/default/pods", pod(name, node="n1"))
    reads: list[bool] = []
    real = api.store.get

    def spy(key, linearizable=True):  # the reads made (not one refused on the event loop)
        kv = real(key, linearizable=linearizable)
        if "/pods/" in key:
            reads.append(linearizable)
        return kv
    monkeypatch.setattr(api.store, "get", spy)
    r = api.delete("/api/v1/namespaces/default/pods/a")
    assert r.status_code == 200 and r.json["metadata"]["deletionTimestamp"]
    assert reads == [False]
    reads.clear()
    r = api.delete("/api/v1/namespaces/default/pods/a")  # marked already: nothing to write
    assert r.status_code == 200 and True in reads

    current = real("/registry/pods/default/b")
    api.patch("/api/v1/namespaces/default/pods/b", {"metadata": {"labels": {"x": "y"}}})
    reads.clear()

    def stale(key, linearizable=True):  # this replica lags: b as it was before the patch
        kv = current if not linearizable and key.endswith("/b") else real(
            key, linearizable=linearizable)
        reads.append(linearizable)
        return kv
    monkeypatch.setattr(api.store, "get", stale)
    r = api.delete("/api/v1/namespaces/default/pods/b")
    assert r.status_code == 200 and r.json["metadata"]["labels"] == {"x": "y"}
    # the copy, on the event loop and again in the worker thread the stale copy sends
    # the delete to (master.api.directdelete), then the latest through Raft
    assert r.json["metadata"]["deletionTimestamp"] and reads[:3] == [False, False, True]
    reads.clear()
    r = api.delete("/api/v1/namespaces/default/pods/c",
                   {"kind": "DeleteOptions", "preconditions": {"resourceVersion": "1"}})
    # the copy fails the precondition on the loop: the delete is made in a worker thread
    assert r.status_code == 409 and reads == [False, False, True]
    c = api.get("/api/v1/namespaces/default/pods/c").json  # a node's delete names the uid
    reads.clear()
    r = api.delete("/api/v1/namespaces/default/pods/c",
                   {"kind": "DeleteOptions", "preconditions": {"uid": c["metadata"]["uid"]}})
    assert r.status_code == 200 and reads == [False]


def test_an_update_older_than_this_replicas_copy_is_409_without_a_raft_read(api, monkeypatch):
    p = api.post("/api/v1/namespaces/default/pods", pod("a", node="n1")).json
    api.patch("/api/v1/namespaces/default/pods/a", {"metadata": {"labels": {"x": "y"}}})
    reads: list[bool] = []
    real = api.store.get

    def spy(key, linearizable=True):
        reads.append(linearizable)
        return real(key, linearizable=linearizable)
    monkeypatch.setattr(api.store, "get", spy)
    r = api.request("PUT", "/api/v1/namespaces/default/pods/a/status",
                    {**p, "status": {"phase": "Running"}})
    assert r.status_code == 409 and "the object has been modified" in r.json["message"]
    assert reads == [False]
    current = api.get("/api/v1/namespaces/default/pods/a").json
    reads.clear()
    r = api.request("PUT", "/api/v1/namespaces/default/pods/a/status",
                    {**current, "status": {"phase": "Running"}})
    assert r.status_code == 200 and r.json["status"]["phase"] == "Running" and True not in reads
