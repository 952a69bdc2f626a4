"""The dashboard (master.ui) on a real master server over HTTPS: sign-in and
its cookie, CSRF, RBAC on actions, Secrets never shown, live SSE, the Raft
view, and each action's effect and Event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from coxapi import kinds
from coxapi.timefmt import rfc3339
from coxapi.usagereport import USAGE_ANNOTATION, UsageReport
from master.admission.rbacdefaults import ensure_default_rbac
from master.auth import TokenEntry, User
from master.ui import masters, session
from tests.support import wait_until
from tests.unit.api_harness import ADMIN_TOKEN, Api, deployment, pod

VIEWER, EDITOR = "viewer-token-123", "editor-token-456"
SECRET_VALUE = "c3VwZXItc2VjcmV0LXZhbHVl"  # base64 of a value no UI response may hold
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    a = Api(tokens=(TokenEntry(VIEWER, User("vera", "u-vera")),
                    TokenEntry(EDITOR, User("ed", "u-ed"))))
    ensure_default_rbac(a.objects)
    for name, role, user in (("vera-view", "view", "vera"), ("ed-edit", "edit", "ed")):
        assert a.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"kind": "User", "name": user}]}).status_code == 201
    assert a.post("/api/v1/namespaces/default/secrets", {
        "metadata": {"name": "db-password"}, "type": "Opaque",
        "data": {"password": SECRET_VALUE}}).status_code == 201
    yield a
    a.close()


class Browser:
    """What a browser does: a cookie from the login, the CSRF header, an Origin."""

    def __init__(self, api: Api, token: str) -> None:
        self.url, self.http = api.url, api.session()
        r = self.http.post(self.url + "/ui/login", data={"token": token},
                           allow_redirects=False, timeout=10)
        assert r.status_code == 303, r.text
        self.set_cookie = r.headers["Set-Cookie"]
        self.cookie = self.set_cookie.split(";")[0]
        self.csrf = self.get("/ui/session").json()["csrf"]

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.url + path, headers={"Cookie": self.cookie},
                             allow_redirects=False, timeout=10, **kw)

    def act(self, action: str, body: dict, csrf: str | None = "", origin: str | None = None
            ) -> requests.Response:
        headers = {"Cookie": self.cookie, "Origin": origin or self.url}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf or self.csrf
        return self.http.post(f"{self.url}/ui/actions/{action}", data=json.dumps(body),
                              headers=headers, timeout=10)


@pytest.fixture(scope="module")
def admin(api) -> Browser:
    return Browser(api, ADMIN_TOKEN)


def events(api: Api, reason: str) -> list[dict]:
    items = api.get("/api/v1/events").json["items"]
    return [e for e in items if e["reason"] == reason]


def test_login_sets_a_locked_down_cookie_and_pages_need_it(api, admin):
    flags = [f.strip() for f in admin.set_cookie.split(";")]
    assert flags[0].startswith(session.COOKIE + "=")
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/ui/"} <= set(flags)
    assert ADMIN_TOKEN not in admin.set_cookie  # sealed, not the token in clear
    anonymous = api.session()
    r = anonymous.get(api.url + "/ui/", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/ui/login"
    assert anonymous.get(api.url + "/ui/api/api/v1/pods", timeout=10).status_code == 401
    page = anonymous.get(api.url + "/ui/login", timeout=10)
    assert 'id="token"' in page.text and 'id="login"' in page.text
    r = admin.get("/ui/")
    assert r.status_code == 200 and 'data-page="cluster"' in r.text
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_a_wrong_token_or_a_forged_cookie_gets_no_session(api):
    r = api.session().post(api.url + "/ui/login", data={"token": "nope"},
                           allow_redirects=False, timeout=10)
    assert r.status_code == 401 and "login-error" in r.text and "Set-Cookie" not in r.headers
    forged = api.session().get(api.url + "/ui/session", timeout=10,
                               headers={"Cookie": f"{session.COOKIE}=AAAA{ADMIN_TOKEN}"})
    assert forged.status_code == 401


def test_a_cookie_sealed_by_one_master_opens_on_another():
    """Masters derive the same keys from the shared signing key: failover keeps the session."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    one, two = session.Sealer(*session.derive_keys(key)), session.Sealer(*session.derive_keys(key))
    s = two.open(one.seal("tok", 100.0), 101.0)
    assert s is not None and s.token == "tok" and one.csrf(s) == two.csrf(s)
    assert two.open(one.seal("tok", 100.0), 100.0 + session.TTL_SECONDS + 1) is None
    other = session.Sealer(*session.derive_keys(Ed25519PrivateKey.generate()))
    assert other.open(one.seal("tok", 100.0), 101.0) is None


def test_actions_need_the_csrf_header_and_the_same_origin(api, admin):
    assert api.post(DEPLOY, deployment("csrf")).status_code == 201
    body = {"resource": "deployments", "namespace": "default", "name": "csrf", "replicas": 5}
    assert admin.act("scale", body, csrf=None).status_code == 403
    assert admin.act("scale", body, csrf="0" * 64).status_code == 403
    assert admin.act("scale", body, origin="https://evil.example").status_code == 403
    assert api.get(DEPLOY + "/csrf").json["spec"]["replicas"] == 2
    assert admin.act("scale", body).status_code == 200
    assert api.get(DEPLOY + "/csrf").json["spec"]["replicas"] == 5
    # GET never changes state
    assert admin.get("/ui/actions/scale").status_code == 404


def test_a_viewer_may_look_but_not_act(api):
    assert api.post(DEPLOY, deployment("ro")).status_code == 201
    vera, ed = Browser(api, VIEWER), Browser(api, EDITOR)
    can = vera.get("/ui/can?namespace=default").json()
    assert not any(can.values()), can
    assert ed.get("/ui/can?namespace=default").json()["scale"]
    assert vera.get("/ui/api/apis/apps/v1/namespaces/default/deployments").status_code == 200
    r = vera.act("scale", {"resource": "deployments", "namespace": "default", "name": "ro",
                           "replicas": 7})
    assert r.status_code == 403 and 'User "vera"' in r.json()["message"]
    assert api.get(DEPLOY + "/ro").json["spec"]["replicas"] == 2
    assert ed.act("scale", {"resource": "deployments", "namespace": "default", "name": "ro",
                            "replicas": 7}).status_code == 200


def test_secret_values_never_reach_the_dashboard(api, admin):
    listed = admin.get("/ui/secrets?namespace=default").json()["items"]
    assert {"namespace": "default", "name": "db-password", "type": "Opaque",
            "keys": ["password"]}.items() <= {**listed[0]}.items() or any(
        s["name"] == "db-password" and s["keys"] == ["password"] for s in listed)
    for path in ("/ui/api/api/v1/namespaces/default/secrets",
                 "/ui/api/api/v1/namespaces/default/secrets/db-password",
                 "/ui/api/api/v1/secrets"):
        r = admin.get(path)
        assert r.status_code == 403, path
        assert SECRET_VALUE not in r.text
    applied = admin.act("apply", {"manifest": "apiVersion: v1\nkind: Secret\nmetadata:\n"
                                  "  name: s2\ndata:\n  k: " + SECRET_VALUE + "\n"})
    assert applied.status_code == 200 and applied.json()["results"][0]["code"] == 403
    for path in ("/ui/", "/ui/session", "/ui/raft", "/ui/masters", "/ui/static/app.js",
                 "/ui/api/api/v1/namespaces/default/configmaps",
                 "/ui/api/api/v1/events", "/ui/secrets"):
        assert SECRET_VALUE not in admin.get(path).text, path


def _sse(admin: Browser, *paths: str, until: str) -> list[tuple[str, dict]]:
    """The (event, data) messages of /ui/watch over ``paths`` until one holds ``until``."""
    out: list[tuple[str, dict]] = []
    with admin.http.get(admin.url + "/ui/watch", params=[("w", p) for p in paths], stream=True,
                        timeout=30, headers={"Cookie": admin.cookie,
                                             "Accept": "text/event-stream"}) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        event = ""
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                out.append((event, json.loads(line[len("data: "):])))
                if until in line:
                    break
    return out


def test_watches_stream_changes_as_one_server_sent_events_stream(api, admin):
    cms = "/api/v1/namespaces/default/configmaps"
    rv = api.get(cms).json["metadata"]["resourceVersion"]
    assert api.post(cms, {"metadata": {"name": "live-one"}, "data": {"a": "1"}}).status_code == 201
    got = _sse(admin, f"/api/v1/nodes?resourceVersion={rv}",
               f"{cms}?resourceVersion={rv}&timeoutSeconds=20", until="live-one")
    event, data = got[-1]
    assert event == "1" and data["type"] == "ADDED"
    assert data["object"]["metadata"]["name"] == "live-one"
    # a watch RBAC refuses is an ERROR event in the stream; the others go on
    refused = _sse(Browser(api, VIEWER), "/api/v1/nodes", f"{cms}?timeoutSeconds=5",
                   until="Forbidden")
    assert refused[-1][0] == "0" and refused[-1][1]["type"] == "ERROR"
    assert refused[-1][1]["object"]["code"] == 403
    secrets = admin.get("/ui/watch?w=/api/v1/secrets")
    assert secrets.status_code == 403 and SECRET_VALUE not in secrets.text
    assert admin.get("/ui/api/api/v1/configmaps?watch=1").status_code == 400


def test_the_raft_view_names_each_master_its_role_and_indexes(api, admin):
    masters.publish(api.objects, "m2", "https://127.0.0.1:1", {
        "id": "10.0.0.2:7000", "role": "follower", "leader": "memory", "term": 1,
        "commit_index": 3, "applied_index": 2}, time.time())
    view = admin.get("/ui/raft").json()
    rows = {r["name"]: r for r in view["masters"]}
    me = rows["m-test"]
    assert me["self"] and me["role"] == "leader" and me["reachable"]
    assert {"term", "commit_index", "applied_index"} <= me.keys()
    assert rows["m2"]["applied_index"] == 2 and rows["m2"]["role"] == "unreachable"
    assert admin.get("/ui/masters").json()["urls"][0] == admin.url
    # authorised as the API's /status/raft is
    assert Browser(api, VIEWER).get("/ui/raft").status_code == api.get(
        "/status/raft", token=VIEWER).status_code


def test_the_raft_view_of_three_replicas():
    local = {"id": "a:1", "role": "follower", "leader": "b:1", "term": 4, "commit_index": 9,
             "applied_index": 9, "peers": [{"id": "b:1", "connected": True},
                                           {"id": "c:1", "connected": False}]}
    now = 1000.0
    leases = [masters.record(n, f"https://h:{p}", {"id": i, "role": r, "term": 4,
                                                   "commit_index": 9, "applied_index": 8}, now)
              for n, p, i, r in (("m1", 1, "a:1", "follower"), ("m2", 2, "b:1", "leader"),
                                 ("m3", 3, "c:1", "follower"))]
    rows = {r["name"]: r for r in masters.view("m1", "https://h:1", local, leases, now + 1)[
        "masters"]}
    assert rows["m2"]["role"] == "leader" and rows["m2"]["reachable"]
    assert rows["m3"]["role"] == "unreachable" and not rows["m3"]["reachable"]
    assert rows["m1"]["self"] and rows["m1"]["applied_index"] == 9
    assert masters.urls("https://h:1", leases, now + 100) == ["https://h:1"]  # all stale


def _owned_rs(dep: dict, name: str, rev: int, image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "annotations": {"deployment.kubernetes.io/revision":
                                                       str(rev)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": dep["metadata"]["name"],
                                              "uid": dep["metadata"]["uid"],
                                              "controller": True}]},
            "spec": {"replicas": 0, "selector": dep["spec"]["selector"],
                     "template": {**dep["spec"]["template"], "spec": {
                         "containers": [{"name": "app", "image": image}]}}}}


def test_rollout_actions_change_the_deployment_and_record_events(api, admin):
    dep = api.post(DEPLOY, deployment("web")).json
    rs = "/apis/apps/v1/namespaces/default/replicasets"
    assert api.post(rs, _owned_rs(dep, "web-1", 1, "web:0")).status_code == 201
    assert api.post(rs, _owned_rs(dep, "web-2", 2, "web:1")).status_code == 201
    target = {"resource": "deployments", "namespace": "default", "name": "web"}
    for action, check in (
            ("restart", lambda d: "kubectl.kubernetes.io/restartedAt"
             in d["spec"]["template"]["metadata"]["annotations"]),
            ("pause", lambda d: d["spec"]["paused"] is True),
            ("resume", lambda d: not d["spec"].get("paused")),
            ("undo", lambda d: d["spec"]["template"]["spec"]["containers"][0]["image"]
             == "web:0")):
        r = admin.act(action, target)
        assert r.status_code == 200, (action, r.text)
        assert check(api.get(DEPLOY + "/web").json), action
    reasons = {e["reason"]: e for e in api.get("/api/v1/namespaces/default/events").json["items"]
               if e["involvedObject"]["name"] == "web"}
    assert {"UIRolloutRestart", "UIRolloutPause", "UIRolloutResume", "UIRolloutUndo"} <= \
        reasons.keys()
    assert "admin" in reasons["UIRolloutUndo"]["message"]
    assert reasons["UIRolloutUndo"]["involvedObject"]["kind"] == "Deployment"
    scaled = admin.act("scale", {**target, "replicas": 4})
    assert scaled.status_code == 200 and api.get(DEPLOY + "/web").json["spec"]["replicas"] == 4
    ev = events(api, "UIScale")[-1]
    assert ev["involvedObject"]["name"] == "web" and "admin scaled" in ev["message"]
    bad = admin.act("scale", {**target, "replicas": -1})
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["field"] == "spec.replicas"


def test_node_actions_cordon_uncordon_drain_and_delete_a_pod(api, admin):
    assert api.post("/api/v1/nodes", {"metadata": {"name": "n9"}}).status_code == 201
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1",
          "controller": True}
    p = pod("busy", node="n9")
    p["metadata"]["ownerReferences"] = [rs]
    assert api.post("/api/v1/namespaces/default/pods", p).status_code == 201
    assert api.post("/api/v1/namespaces/default/pods", pod("lonely")).status_code == 201
    node = {"resource": "nodes", "name": "n9"}
    assert admin.act("cordon", node).status_code == 200
    assert api.get("/api/v1/nodes/n9").json["spec"]["unschedulable"] is True
    assert admin.act("uncordon", node).status_code == 200
    assert not api.get("/api/v1/nodes/n9").json["spec"].get("unschedulable")
    r = admin.act("drain", node)
    assert r.status_code == 200, r.text
    assert api.get("/api/v1/nodes/n9").json["spec"]["unschedulable"] is True
    wait_until(lambda: api.get("/api/v1/namespaces/default/pods/busy").status_code == 404
               or api.get("/api/v1/namespaces/default/pods/busy").json["metadata"].get(
                   "deletionTimestamp"), timeout=10)
    assert "default/busy" in events(api, "UIDrain")[-1]["message"]
    assert {"UICordon", "UIUncordon"} <= {e["reason"] for e in api.get(
        "/api/v1/namespaces/default/events").json["items"]}
    assert admin.act("delete", {"namespace": "default", "name": "lonely"}).status_code == 200
    assert events(api, "UIDeletePod")[-1]["involvedObject"]["name"] == "lonely"


def test_apply_previews_then_applies_and_shows_field_errors(api, admin):
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pasted\n"
                "data:\n  k: v\n")
    preview = admin.act("apply", {"manifest": manifest, "dryRun": True}).json()
    assert preview["dryRun"] and preview["results"][0]["code"] == 201
    assert api.get("/api/v1/namespaces/default/configmaps/pasted").status_code == 404
    done = admin.act("apply", {"manifest": manifest}).json()
    assert done["results"][0]["action"] == "created"
    assert api.get("/api/v1/namespaces/default/configmaps/pasted").status_code == 200
    assert events(api, "UIApply")[-1]["involvedObject"]["name"] == "pasted"
    bad = deployment("broken")
    bad["spec"]["replicas"] = -3
    result = admin.act("apply", {"manifest": json.dumps(bad), "dryRun": True}).json()
    status = result["results"][0]["status"]
    assert status["code"] == 422
    assert "spec.replicas" in [c["field"] for c in status["details"]["causes"]]
    garbage = admin.act("apply", {"manifest": "a: [b"})
    assert garbage.status_code == 422
    assert garbage.json()["details"]["causes"][0]["field"] == "manifest"


def test_bad_action_input_is_a_status_naming_the_field(api, admin):
    r = admin.act("scale", {"resource": "deployments", "namespace": "default"})
    assert r.status_code == 422 and r.json()["details"]["causes"][0]["field"] == "name"
    r = admin.act("cordon", {"resource": "pods", "name": "x"})
    assert r.status_code == 422 and r.json()["details"]["causes"][0]["field"] == "resource"
    assert admin.act("explode", {}).status_code == 404
    raw = admin.http.post(admin.url + "/ui/actions/scale", data="{not json", timeout=10,
                          headers={"Cookie": admin.cookie, "X-CSRF-Token": admin.csrf})
    assert raw.status_code == 400 and raw.json()["kind"] == "Status"
    missing = admin.act("delete", {"namespace": "default", "name": "no-such-pod"})
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"


def test_a_master_publishes_the_url_a_page_can_use():
    assert masters.api_url("127.0.0.1:6443", tls=True) == "https://127.0.0.1:6443"
    assert masters.api_url("[::1]:6443", tls=False) == "http://[::1]:6443"
    assert masters.api_url("0.0.0.0:6443", tls=True) == "https://:6443"  # the page's own host


def test_usage_history_is_served_to_whoever_may_list_nodes(api, admin):
    for resource in ("leases", "nodes"):  # a master starts every cache; the harness on use
        assert api.state.caches.get(kinds.lookup(resource)).ready.wait(10)
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    now = int(time.time()) + 0.0004  # sub-ms: `since` is in whole ms, as the page sends it

    def report(t: float, cpu: int) -> dict:
        return {USAGE_ANNOTATION: UsageReport(rfc3339(t, micro=True), 5.0,
                                              (cpu, 512 << 20)).encode()}
    assert api.post(leases, {"metadata": {"name": "ui-n1", "annotations": report(now - 10, 1000)},
                             "spec": {"holderIdentity": "ui-n1"}}).status_code == 201
    assert api.patch(leases + "/ui-n1", {"metadata": {"annotations": report(now - 5, 2000)}}
                     ).status_code == 200
    got = wait_until(lambda: (u := admin.get("/ui/usage").json())
                     and len(u["nodes"].get("ui-n1", [])) == 2 and u, 10, 0.05, "two samples")
    assert abs(got["now"] - now * 1000) < 60_000
    first, second = got["nodes"]["ui-n1"]
    assert first == [round((now - 10) * 1000), 1000, 512 << 20]  # [ms, nanocores, bytes]
    assert second[0] > first[0] and second[1] == 2000
    newer = admin.get(f"/ui/usage?since={first[0]}").json()["nodes"]["ui-n1"]
    assert newer == [second]
    bad = admin.get("/ui/usage?since=soon")
    assert bad.status_code == 400 and bad.json()["details"]["causes"][0]["field"] == "since"
    refused = Browser(api, VIEWER).get("/ui/usage")  # `view` does not cover nodes
    assert refused.status_code == 403 and "ui-n1" not in refused.text
    assert api.delete(leases + "/ui-n1").status_code == 200
    wait_until(lambda: "ui-n1" not in admin.get("/ui/usage").json()["nodes"], 10, 0.05,
               "its history gone with its Lease")
