"""ServiceAccount tokens: a node gets a token only for the account of a pod
bound to it, bound to that pod; any master accepts it while the pod lives;
RBAC decides what the account may do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from master.admission.rbacdefaults import ensure_default_rbac
from master.serviceaccounts import DEFAULT_SECONDS

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, CountingStore, pod

SA = "/api/v1/namespaces/default/serviceaccounts"
PODS = "/api/v1/namespaces/default/pods"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    ensure_default_rbac(a.objects)
    a.post(SA, {"metadata": {"name": "robot"}})
    a.post(SA, {"metadata": {"name": "other"}})
    a.post(PODS, pod("p1", node="n1", serviceAccountName="robot"))
    a.post(PODS, pod("p2", node="n2", serviceAccountName="robot"))
    yield a
    a.close()


def bound_to(p: dict, uid: str | None = None) -> dict:
    """A TokenRequest bound to pod ``p`` (by its uid, or ``uid``)."""
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                        "name": p["metadata"]["name"],
                                        "uid": uid or p["metadata"]["uid"]}}}


def request_token(api: Api, sa: str, pod_name: str | None, token: str = NODE_TOKEN, **spec):
    if pod_name is not None:
        spec.update(bound_to(api.get(f"{PODS}/{pod_name}").json)["spec"])
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
    return api.post(f"{SA}/{sa}/token", body, token=token)


def test_a_pods_token_is_its_accounts_identity_until_the_pod_goes(api):
    r = request_token(api, "robot", "p1", expirationSeconds=366 * 24 * 3600)
    assert r.status_code == 201, r.json
    token = r.json["status"]["token"]
    me = api.post(WHOAMI, {"kind": "SelfSubjectReview"}, token=token).json["status"]["userInfo"]
    assert me["username"] == "system:serviceaccount:default:robot"
    assert set(me["groups"]) >= {"system:serviceaccounts", "system:serviceaccounts:default"}
    assert api.get(PODS, token=token).status_code == 403
    api.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
        "metadata": {"name": "robot-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot"}]})
    assert api.get(PODS, token=token).status_code == 200
    api.delete(f"{PODS}/p1", {"gracePeriodSeconds": 0})
    api.delete(f"{PODS}/p1", {"gracePeriodSeconds": 0}, token=NODE_TOKEN)
    assert api.get(PODS, token=token).status_code == 401, "the bound pod is gone"


def test_a_node_gets_tokens_only_for_its_own_pods(api):
    assert request_token(api, "robot", "p2").status_code == 403, "p2 runs on n2"
    assert request_token(api, "robot", None).status_code == 403, "unbound"
    assert request_token(api, "other", "p1").status_code == 403, "no pod of n1 runs as other"
    r = request_token(api, "robot", "p1", expirationSeconds=10)
    assert r.status_code == 422 and "spec.expirationSeconds" in r.json["message"]


def test_tokens_of_other_issuers_or_audiences_are_refused(api):
    st = api.state
    log_token = st.signing.node_token("n1", master="m-test")
    assert api.get("/api", token=log_token).status_code == 401
    forged = log_token[:-4] + ("AAAA" if not log_token.endswith("AAAA") else "BBBB")
    assert api.get("/api", token=forged).status_code == 401


def test_the_node_writes_the_pods_token_namespace_and_ca(api, tmp_path):
    from coxapi.client import Client
    from node import podspec, satoken

    client = Client([api.url], NODE_TOKEN, timeout=10, ca_file=api.ca_file)
    p1 = api.get(f"{PODS}/p1").json
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    d = satoken.ensure(client, p1, str(tmp_path / "data"), str(ca))
    assert d is not None
    files = {f: Path(d, f).read_text() for f in ("token", "namespace", "ca.crt")}
    assert files["namespace"] == "default" and files["ca.crt"].startswith("-----BEGIN")
    me = api.post(WHOAMI, {"kind": "SelfSubjectReview"}, token=files["token"]).json
    assert me["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
    assert satoken.ensure(client, p1, str(tmp_path / "data")) == d  # kept, not re-requested
    spec = podspec.app_spec(p1, p1["spec"]["containers"][0], "n1", 0, "infra", str(tmp_path),
                            lambda *a: None, sa_dir=d)
    assert f"{d}:{podspec.SA_MOUNT}:ro" in spec.binds
    p1["spec"]["automountServiceAccountToken"] = False
    assert satoken.ensure(client, p1, str(tmp_path / "other")) is None
    api.post(PODS, pod("p3", node="n1", serviceAccountName="ghost"))
    assert satoken.ensure(client, api.get(f"{PODS}/p3").json, str(tmp_path / "g")) is None


def test_an_admin_gets_an_unbound_token_from_kubectl_create_tokens_body(api):
    # kubectl create token sends the spec's unset fields as nulls (Go's
    # TokenRequestSpec does not omit them): defaults, as Kubernetes reads them
    r = request_token(api, "robot", None, token=ADMIN_TOKEN, audiences=None,
                      expirationSeconds=None, boundObjectRef=None)
    assert r.status_code == 201, r.json
    assert r.json["spec"]["expirationSeconds"] == DEFAULT_SECONDS
    me = api.post(WHOAMI, {"kind": "SelfSubjectReview"},
                  token=r.json["status"]["token"]).json["status"]["userInfo"]
    assert me["username"] == "system:serviceaccount:default:robot"


def test_a_token_for_a_pod_this_master_holds_needs_no_raft_read():
    """The account and the pod are read from this replica, as admission reads
    the watch cache; only what it lacks (or holds in an older form) is read
    through Raft."""
    store = CountingStore()
    api = Api(store)
    ensure_default_rbac(api.objects)
    api.post(SA, {"metadata": {"name": "robot"}})
    api.post(PODS, pod("p1", node="n1", serviceAccountName="robot"))
    assert request_token(api, "robot", "p1").status_code == 201  # loads the signing key
    body = bound_to(api.get(f"{PODS}/p1").json)
    before = store.barriers
    assert api.post(f"{SA}/robot/token", body, token=NODE_TOKEN).status_code == 201
    assert store.barriers == before
    # Created through another master a moment ago: confirmed through Raft.
    api.post(SA, {"metadata": {"name": "fresh"}})
    store.behind.add("/registry/serviceaccounts/default/fresh")
    before = store.barriers
    r = request_token(api, "fresh", None, token=ADMIN_TOKEN)
    assert r.status_code == 201 and store.barriers == before + 1
    r = request_token(api, "ghost", None, token=ADMIN_TOKEN)
    assert r.status_code == 404 and 'serviceaccounts "ghost" not found' in r.json["message"]


def test_a_pod_replaced_since_this_replica_saw_it_is_read_through_raft():
    store = CountingStore()
    api = Api(store)
    api.post(SA, {"metadata": {"name": "robot"}})
    api.post(PODS, pod("p1", node="n1", serviceAccountName="robot"))
    key = "/registry/pods/default/p1"
    old = store.get(key, False)
    api.delete(f"{PODS}/p1", {"gracePeriodSeconds": 0})
    api.delete(f"{PODS}/p1", {"gracePeriodSeconds": 0}, token=NODE_TOKEN)
    api.post(PODS, pod("p1", node="n1", serviceAccountName="robot"))
    assert request_token(api, "robot", "p1").status_code == 201  # loads the signing key
    body = bound_to(api.get(f"{PODS}/p1").json)
    store.lagging[key] = old  # this replica still shows the pod that was replaced
    before = store.barriers
    r = api.post(f"{SA}/robot/token", body)
    assert r.status_code == 201, r.json
    assert store.barriers == before + 1
    # The latest refuses too: a uid no pod has any more.
    r = api.post(f"{SA}/robot/token", bound_to(api.get(f"{PODS}/p1").json, uid="gone"))
    assert r.status_code == 409 and "was replaced" in r.json["message"]
