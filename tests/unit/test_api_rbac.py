"""RBAC: users and groups from the token file get what their roles grant,
no more; the default roles; self reviews tell the truth (kubectl auth
can-i / whoami); a role or binding cannot be used to escalate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from master.admission.rbacdefaults import ensure_default_rbac
from master.auth import TokenEntry, User

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod

ALICE, BOB = "alice-token", "bob-token"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api(tokens=(TokenEntry(ALICE, User("alice", "u-alice")),
                    TokenEntry(BOB, User("bob", "u-bob", ("devs",)))))
    ensure_default_rbac(a.objects)
    yield a
    a.close()


def bind(api: Api, name: str, role: str, subject: dict, ns: str | None = "default",
         role_kind: str = "ClusterRole", token: str = ADMIN_TOKEN) -> int:
    body = {"metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [subject]}
    path = f"{RBAC}/namespaces/{ns}/rolebindings" if ns else f"{RBAC}/clusterrolebindings"
    return api.post(path, body, token=token).status_code


def can_i(api: Api, token: str, verb: str, resource: str, ns: str = "default", **more) -> bool:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource,
                                            "namespace": ns, **more}}}
    r = api.post(SSAR, body, token=token)
    assert r.status_code == 201, r.json
    return r.json["status"]["allowed"]


def test_a_user_without_bindings_may_only_discover_and_ask(api):
    assert api.get(PODS, token=ALICE).status_code == 403
    r = api.get("/api/v1/namespaces/default/secrets/x", token=ALICE)
    assert r.status_code == 403 and r.json["reason"] == "Forbidden"
    assert 'User "alice" cannot get resource "secrets"' in r.json["message"]
    assert api.get("/api", token=ALICE).status_code == 200
    assert api.get("/apis/apps/v1", token=ALICE).status_code == 200
    assert api.get("/status/raft", token=ALICE).status_code == 403
    assert not can_i(api, ALICE, "list", "pods")
    rev = api.store.revision()
    assert api.post(PODS, pod("p"), token=ALICE).status_code == 403
    assert api.store.revision() == rev


def test_view_edit_and_namespaces(api):
    assert bind(api, "alice-view", "view", {"kind": "User", "name": "alice"}) == 201
    assert api.get(PODS, token=ALICE).status_code == 200
    assert can_i(api, ALICE, "list", "pods") and can_i(api, ALICE, "watch", "deployments",
                                                        group="apps")
    assert not can_i(api, ALICE, "create", "pods") and not can_i(api, ALICE, "get", "secrets")
    assert api.post(PODS, pod("p"), token=ALICE).status_code == 403
    assert api.get("/api/v1/namespaces/default/secrets", token=ALICE).status_code == 403
    assert api.get("/api/v1/namespaces/kube-system/pods", token=ALICE).status_code == 403
    assert not can_i(api, ALICE, "list", "pods", ns="kube-system")
    # a group from the token file
    assert bind(api, "devs-edit", "edit", {"kind": "Group", "name": "devs"}) == 201
    assert api.post(PODS, pod("p"), token=BOB).status_code == 201
    assert can_i(api, BOB, "create", "secrets") and not can_i(api, BOB, "create", "rolebindings",
                                                               group="rbac.authorization.k8s.io")


def test_resource_names_and_subresources(api):
    role = {"metadata": {"name": "one-cm"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
         "resourceNames": ["one"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}]}
    assert api.post(f"{RBAC}/namespaces/default/roles", role).status_code == 201
    assert bind(api, "a", "one-cm", {"kind": "User", "name": "alice"}, role_kind="Role") == 201
    for n in ("one", "two"):
        api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": n}})
    assert api.get("/api/v1/namespaces/default/configmaps/one", token=ALICE).status_code == 200
    assert api.get("/api/v1/namespaces/default/configmaps/two", token=ALICE).status_code == 403
    assert api.get("/api/v1/namespaces/default/configmaps", token=ALICE).status_code == 403
    assert can_i(api, ALICE, "get", "pods", subresource="log")
    assert not can_i(api, ALICE, "get", "pods")


def test_watches_are_authorized_too(api):
    headers = {"Authorization": f"Bearer {ALICE}"}
    r = api.session().get(f"{api.url}{PODS}", params={"watch": "true"}, headers=headers,
                          timeout=10)
    assert r.status_code == 403


def test_whoami_and_the_admin(api):
    r = api.post(WHOAMI, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                 token=BOB)
    assert r.status_code == 201
    assert r.json["status"]["userInfo"] == {"username": "bob", "uid": "u-bob",
                                            "groups": ["devs", "system:authenticated"]}
    assert can_i(api, ADMIN_TOKEN, "delete", "nodes", ns="")
    assert api.get(WHOAMI).status_code == 405, "a review is never stored or listed"
    r = api.post(SSAR, {"kind": "SelfSubjectAccessReview", "spec": {}}, token=BOB)
    assert r.status_code == 422 and "resourceAttributes" in r.json["message"]


def test_a_node_is_decided_by_the_node_authorizer(api):
    api.post(PODS, pod("p", node="n1"))
    assert can_i(api, NODE_TOKEN, "patch", "pods", name="p", subresource="status")
    assert not can_i(api, NODE_TOKEN, "list", "secrets")


def test_roles_and_bindings_cannot_escalate(api):
    api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    assert bind(api, "alice-admin", "admin", {"kind": "User", "name": "alice"}, ns="team") == 201
    me = {"kind": "User", "name": "alice"}
    assert bind(api, "x", "edit", me, ns="team", token=ALICE) == 201
    assert bind(api, "y", "cluster-admin", me, ns="team", token=ALICE) == 403
    assert bind(api, "z", "cluster-admin", me, ns=None, token=ALICE) == 403
    role = {"metadata": {"name": "all"}, "rules": [
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}
    assert api.post(f"{RBAC}/namespaces/team/roles", role, token=ALICE).status_code == 201
    assert api.post(f"{RBAC}/clusterroles", role, token=ALICE).status_code == 403


def test_bad_roles_and_bindings_name_the_field(api):
    r = api.post(f"{RBAC}/namespaces/default/roles", {"metadata": {"name": "r"},
                                                      "rules": [{"apiGroups": [""]}]})
    assert r.status_code == 422 and "rules[0].verbs" in r.json["message"]
    r = api.post(f"{RBAC}/clusterrolebindings", {"metadata": {"name": "b"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}})
    assert r.status_code == 422 and "roleRef.kind" in r.json["message"]
    assert bind(api, "rb", "view", {"kind": "User", "name": "alice"}) == 201
    cur = api.get(f"{RBAC}/namespaces/default/rolebindings/rb").json
    cur["roleRef"]["name"] = "edit"
    r = api.put(f"{RBAC}/namespaces/default/rolebindings/rb", cur)
    assert r.status_code == 422 and "roleRef" in r.json["message"]


def test_the_default_roles_cover_the_workload_storage_and_metrics_kinds(api):
    assert bind(api, "alice-edit", "edit", {"kind": "User", "name": "alice"}) == 201
    assert bind(api, "bob-view", "view", {"kind": "Group", "name": "devs"}) == 201
    for group, resource in (("batch", "jobs"), ("batch", "cronjobs"), ("apps", "statefulsets"),
                            ("apps", "daemonsets"), ("autoscaling", "horizontalpodautoscalers"),
                            ("", "persistentvolumeclaims")):
        assert can_i(api, ALICE, "create", resource, group=group), resource
        assert can_i(api, BOB, "list", resource, group=group), resource
        assert not can_i(api, BOB, "delete", resource, group=group), resource
    assert can_i(api, BOB, "get", "resourcequotas") and not can_i(api, ALICE, "create",
                                                                  "resourcequotas")
    for group, resource in (("storage.k8s.io", "storageclasses"), ("", "persistentvolumes")):
        assert not can_i(api, ALICE, "list", resource, ns="", group=group), resource
    assert api.get("/apis/batch/v1/namespaces/default/jobs", token=BOB).status_code == 200
    assert api.get("/apis/batch/v1/namespaces/other/jobs", token=BOB).status_code == 403
    metrics = "/apis/metrics.k8s.io/v1beta1"
    assert api.get(f"{metrics}/namespaces/default/pods", token=BOB).status_code == 200
    assert api.get(f"{metrics}/namespaces/other/pods", token=BOB).status_code == 403
    assert api.get(f"{metrics}/nodes", token=BOB).status_code == 403  # cluster-scoped
    assert api.get(metrics, token=BOB).status_code == 200  # discovery
    assert api.get(f"{metrics}/nodes", token=NODE_TOKEN).status_code == 403
    assert api.get(f"{metrics}/nodes").status_code == 200
