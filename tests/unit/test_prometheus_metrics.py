"""Prometheus /metrics on masters and node agents: request labels (pure), the text
served (parsed with prometheus_client's own parser), and who may read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import node.agent  # noqa: F401 - registers the agent's metrics, as in an agent process
from master.admission.rbacdefaults import ensure_default_rbac
from master.auth import MONITORING_GROUP, TokenAuthenticator, TokenEntry, User
from master.metrics import request_labels
from node import podspec
from node.logserver import create_app as agent_app
from node.runtime import ContainerInfo
from node.testing import FakeRuntime

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod

MONITOR_TOKEN = "monitor-token-for-tests"


@pytest.mark.parametrize("method, path, watch, labels", [
    ("GET", "/api/v1/namespaces/default/pods", False, ("LIST", "pods")),
    ("GET", "/api/v1/pods", True, ("WATCH", "pods")),
    ("GET", "/api/v1/namespaces/default/pods/web", False, ("GET", "pods")),
    ("GET", "/api/v1/namespaces/default/pods/web/log", False, ("LOG", "pods")),
    ("PUT", "/api/v1/namespaces/default/pods/web/status", False, ("PUT", "pods")),
    ("POST", "/apis/apps/v1/namespaces/x/deployments", False, ("POST", "deployments")),
    ("GET", "/api/v1/namespaces/kube-system", False, ("GET", "namespaces")),
    ("GET", "/api/v1/nodes", False, ("LIST", "nodes")),
    ("GET", "/api/v1/namespaces/a/made-up-1234", False, ("LIST", "other")),
    ("GET", "/healthz", False, ("GET", "")),
    ("GET", "/apis", False, ("GET", "")),
])
def test_request_labels_are_the_apiservers_and_bounded(method, path, watch, labels):
    assert request_labels(method, path, watch) == labels


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    auth = a.state.config.authenticator.authenticators[0]  # the token file's, before SAs'
    assert isinstance(auth, TokenAuthenticator)
    auth._set_entries([  # the harness's tokens plus a monitoring one
        TokenEntry(ADMIN_TOKEN, User("admin", "admin", ("system:masters",))),
        TokenEntry(NODE_TOKEN, User("system:node:n1", "n1", ("system:nodes",))),
        TokenEntry(MONITOR_TOKEN, User("system:monitoring", "m", (MONITORING_GROUP,)))])
    ensure_default_rbac(a.objects)  # as every master does at start
    yield a
    a.close()


def get(api: Api, path: str, token: str | None = ADMIN_TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.session().get(api.url + path, headers=headers, timeout=10)


def test_master_metrics_count_requests_and_show_raft_and_watches(api):
    assert get(api, "/api/v1/namespaces/default/pods").status_code == 200
    assert api.session().post(api.url + "/api/v1/namespaces/default/pods", json=pod("p"),
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         timeout=10).status_code == 201
    assert get(api, "/api/v1/namespaces/default/pods/ghost").status_code == 404
    r = get(api, "/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    fams = families(r.text)
    samples = {(s.labels.get("verb"), s.labels.get("resource"), s.labels.get("code")): s.value
               for s in fams["apiserver_request"].samples if s.name.endswith("_total")}
    assert samples[("LIST", "pods", "200")] >= 1 and samples[("POST", "pods", "201")] >= 1
    assert samples[("GET", "pods", "404")] >= 1
    latency = fams["apiserver_request_duration_seconds"]
    assert any(s.name.endswith("_count") and s.labels == {"verb": "POST", "resource": "pods"}
               for s in latency.samples)
    assert "raft_role" in fams and fams["apiserver_watches"].samples[0].value == 0
    assert "workqueue_depth" in fams  # empty: no controllers run here


def test_metrics_need_a_token_and_the_monitoring_token_reads_only_metrics(api):
    assert get(api, "/metrics", token=None).status_code == 401
    assert get(api, "/metrics", token=MONITOR_TOKEN).status_code == 200
    refused = get(api, "/api/v1/namespaces/default/pods", token=MONITOR_TOKEN)
    assert refused.status_code == 403 and "/metrics" in refused.json()["message"]
    watch = get(api, "/api/v1/namespaces/default/pods?watch=true", token=MONITOR_TOKEN)
    assert watch.status_code == 403


def test_the_monitoring_token_reads_metrics_by_its_default_role_only(api):
    binding = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:monitoring"
    assert api.delete(binding).status_code == 200
    assert get(api, "/metrics", token=MONITOR_TOKEN).status_code == 403  # RBAC decides
    assert get(api, "/metrics").status_code == 200  # the admins need no binding


def test_the_agent_serves_its_metrics_to_tokens_the_masters_accept():
    rt = FakeRuntime()
    labels = {podspec.LABEL_POD_NAMESPACE: "default", podspec.LABEL_POD_NAME: "web",
              podspec.LABEL_CONTAINER_NAME: "app", podspec.LABEL_CONTAINER_TYPE: "app"}
    rt.containers["c"] = ContainerInfo("c", "c", labels, "running")
    app = agent_app(rt, lambda: rt.list_containers({}), lambda t: t == "logs-ok",
                    lambda t: t == "metrics-ok")
    c = app.test_client()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer logs-ok"}).status_code == 401
    r = c.get("/metrics", headers={"Authorization": "Bearer metrics-ok"})
    assert r.status_code == 200
    fams = families(r.data.decode())
    for name in ("agent_pod_syncs", "agent_pod_sync_duration_seconds", "agent_probe_results",
                 "agent_container_restarts", "netproxy_sync_duration_seconds"):
        assert name in fams, name
    assert c.get("/containerLogs/default/web/app",
                 headers={"Authorization": "Bearer metrics-ok"}).status_code == 401
