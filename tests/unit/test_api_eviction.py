"""The pods ``eviction`` subresource (policy/v1 Eviction), as ``kubectl drain``
finds it in discovery and uses it: a graceful delete answered by a Status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from master.admission.rbacdefaults import ensure_default_rbac
from master.auth import TokenEntry, User

from .api_harness import Api, pod

PODS = "/api/v1/namespaces/default/pods"
EDITOR, VIEWER = "editor-token", "viewer-token"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api(tokens=(TokenEntry(EDITOR, User("ed", "u-ed", ("editors",))),
                    TokenEntry(VIEWER, User("vi", "u-vi", ("viewers",)))))
    ensure_default_rbac(a.objects)
    for group, role in (("editors", "edit"), ("viewers", "view")):
        a.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "metadata": {"name": group}, "subjects": [{"kind": "Group", "name": group}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role}})
    yield a
    a.close()


def eviction(name: str, **delete_options) -> dict:
    body: dict = {"apiVersion": "policy/v1", "kind": "Eviction",
                  "metadata": {"name": name, "namespace": "default"}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


def test_discovery_announces_pods_eviction_as_kubectl_drain_looks_for_it(api):
    entry = next(r for r in api.get("/api/v1").json["resources"] if r["name"] == "pods/eviction")
    assert (entry["kind"], entry["group"], entry["version"]) == ("Eviction", "policy", "v1")
    assert entry["verbs"] == ["create"]


def test_an_eviction_deletes_a_bound_pod_gracefully(api):
    api.post(PODS, pod("p", node="n1"))
    r = api.post(f"{PODS}/p/eviction", eviction("p"))
    assert r.status_code == 201, r.json
    assert r.json == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                      "status": "Success", "code": 201}
    marked = api.get(f"{PODS}/p").json  # the node agent stops its containers first
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30


def test_the_eviction_delete_options_are_honoured(api):
    api.post(PODS, pod("p", node="n1"))
    assert api.post(f"{PODS}/p/eviction", eviction("p", gracePeriodSeconds=0)).status_code == 201
    assert api.get(f"{PODS}/p").status_code == 404
    api.post(PODS, pod("q", node="n1"))
    rev = api.store.revision()
    r = api.post(f"{PODS}/q/eviction", eviction("q", dryRun=["All"]))
    assert r.status_code == 201 and api.store.revision() == rev
    r = api.post(f"{PODS}/q/eviction", eviction("q", preconditions={"uid": "not-its-uid"}))
    assert r.status_code == 409 and api.store.revision() == rev


def test_an_unbound_pod_is_gone_at_once(api):
    api.post(PODS, pod("u"))
    assert api.post(f"{PODS}/u/eviction", eviction("u")).status_code == 201
    assert api.get(f"{PODS}/u").status_code == 404
    assert api.post(f"{PODS}/u/eviction", eviction("u")).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"kind": "Pod"}, "Eviction"),
    ({"metadata": {"name": "other"}}, "name in URL"),
    ({"metadata": {"name": "p", "namespace": "kube-system"}}, "namespace in URL"),
    ({"deleteOptions": {"gracePeriodSeconds": -1}}, "gracePeriodSeconds"),
    ({"deleteOptions": {"propagationPolicy": "Sometimes"}}, "propagationPolicy"),
])
def test_a_bad_eviction_is_400_and_deletes_nothing(api, body, field):
    api.post(PODS, pod("p", node="n1"))
    rev = api.store.revision()
    r = api.post(f"{PODS}/p/eviction", body)
    assert r.status_code == 400 and field in r.json["message"]
    assert api.store.revision() == rev


def test_get_is_not_an_eviction_verb(api):
    api.post(PODS, pod("p", node="n1"))
    assert api.get(f"{PODS}/p/eviction").status_code == 405


def test_the_edit_role_may_evict_and_the_view_role_may_not(api):
    api.post(PODS, pod("p", node="n1"))
    r = api.post(f"{PODS}/p/eviction", eviction("p"), token=VIEWER)
    assert r.status_code == 403 and "pods/eviction" in r.json["message"]
    assert api.post(f"{PODS}/p/eviction", eviction("p"), token=EDITOR).status_code == 201
