"""Pod Security admission: Kubernetes' three levels, set per namespace by
label; user namespaces default to baseline, kube-system is privileged; pods a
controller makes are held to the same level; workloads get warnings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coxapi import podsecurity
from master.controllers.replicaset import ReplicaSetController
from master.controllers.testing import make_context

from .api_harness import Api, deployment, pod


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def pods_in(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/pods"


def namespace(api: Api, name: str, **levels: str) -> None:
    labels = {f"pod-security.kubernetes.io/{k}": v for k, v in levels.items()}
    assert api.post("/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}}
                    ).status_code == 201


HOST_PATH = {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}


def privileged(name: str = "p") -> dict:
    return pod(name, ns=None, containers=[{"name": "app", "image": "busybox:1.36",
                                  "securityContext": {"privileged": True}}])


def restricted_ok(name: str = "p", ns: str = "default") -> dict:
    return pod(name, ns=ns, securityContext={"runAsNonRoot": True,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
               containers=[{"name": "app", "image": "busybox:1.36", "securityContext": {
                   "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}])


@pytest.mark.parametrize("spec,what", [
    ({"hostNetwork": True}, "spec.hostNetwork"),
    ({"hostPID": True}, "spec.hostPID"),
    (HOST_PATH, "hostPath volumes"),
    ({"containers": [{"name": "a", "image": "x", "securityContext": {"privileged": True}}]},
     "privileged"),
    ({"containers": [{"name": "a", "image": "x",
                      "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]},
     "SYS_ADMIN"),
    ({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80,
                                                            "hostPort": 80}]}]}, "hostPort"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "Unconfined"),
    ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
     "kernel.msgmax"),
])
def test_baseline_forbids_what_kubernetes_forbids(spec, what):
    bad = podsecurity.violations("baseline", {}, spec)
    assert bad and what in "; ".join(bad)
    assert podsecurity.violations("privileged", {}, spec) == []


def test_restricted_needs_non_root_no_escalation_seccomp_and_dropped_capabilities():
    plain = {"containers": [{"name": "a", "image": "x"}]}
    assert podsecurity.violations("baseline", {}, plain) == []
    text = "; ".join(podsecurity.violations("restricted", {}, plain))
    for want in ("allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "drop"):
        assert want in text
    assert podsecurity.violations("restricted", {}, restricted_ok()["spec"]) == []


def test_user_namespaces_are_baseline_and_refuse_host_access(api):
    rev = api.store.revision()
    r = api.post(pods_in("default"), pod("p", **HOST_PATH))
    assert r.status_code == 403 and 'violates PodSecurity "baseline:latest"' in r.json["message"]
    assert "hostPath" in r.json["message"] and api.store.revision() == rev
    assert api.post(pods_in("default"), privileged()).status_code == 403
    assert api.post(pods_in("default"), pod("ok")).status_code == 201


def test_kube_system_and_labelled_namespaces(api):
    assert api.post(pods_in("kube-system"), pod("p", ns="kube-system", **HOST_PATH)
                    ).status_code == 201
    namespace(api, "infra", enforce="privileged")
    assert api.post(pods_in("infra"), privileged()).status_code == 201
    namespace(api, "locked", enforce="restricted")
    r = api.post(pods_in("locked"), pod("p", ns=None))
    assert r.status_code == 403 and "runAsNonRoot" in r.json["message"]
    assert api.post(pods_in("locked"), restricted_ok(ns="locked")).status_code == 201
    namespace(api, "typo", enforce="baselin")  # an unknown level fails closed
    assert api.post(pods_in("typo"), pod("p", ns=None)).status_code == 403


def test_warn_level_and_workload_templates_only_warn(api):
    namespace(api, "audit", enforce="privileged", warn="baseline")
    r = api.post(pods_in("audit"), privileged())
    assert r.status_code == 201
    assert "would violate PodSecurity" in r.headers.get("Warning", "")
    d = deployment("web")
    d["spec"]["template"]["spec"].update(HOST_PATH)
    r = api.post("/apis/apps/v1/namespaces/default/deployments", d)
    assert r.status_code == 201 and 'PodSecurity \\"baseline:latest\\"' in r.headers["Warning"]
    assert api.post("/apis/apps/v1/namespaces/default/deployments", deployment("clean")
                    ).headers.get("Warning") is None


def test_a_controller_cannot_make_a_pod_its_namespace_forbids():
    ctx, _ = make_context()
    rs = {**deployment("web", replicas=2), "kind": "ReplicaSet"}
    rs["metadata"]["namespace"] = "default"
    rs["spec"]["template"]["spec"].update(HOST_PATH)
    ctx.objects.create(rs)
    rsc = ReplicaSetController(ctx)
    for _ in range(5):
        ctx.informers.relist()
        if not rsc.drain():
            break
    assert ctx.objects.list("Pod", "default").items == []
    events = ctx.objects.list("Event", "default").items
    assert any(e["reason"] == "FailedCreate" and "hostPath" in e["message"] for e in events)


def _template_of(kind: str) -> tuple[str, dict]:
    """A workload of ``kind`` whose pod template mounts a hostPath."""
    tmpl = {"metadata": {"labels": {"app": "w"}},
            "spec": {"restartPolicy": "OnFailure" if kind in ("Job", "CronJob") else "Always",
                     "containers": [{"name": "c", "image": "busybox"}], **HOST_PATH}}
    if kind == "CronJob":
        return "/apis/batch/v1/namespaces/default/cronjobs", {
            "apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "w"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": tmpl}}}}
    spec: dict = {"template": tmpl}
    if kind != "Job":
        spec["selector"] = {"matchLabels": {"app": "w"}}
    if kind == "StatefulSet":
        spec["serviceName"] = "w"
    group = "batch" if kind == "Job" else "apps"
    return f"/apis/{group}/v1/namespaces/default/{kind.lower()}s", {
        "apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec}


@pytest.mark.parametrize("kind", ["Job", "CronJob", "DaemonSet", "StatefulSet"])
def test_every_workloads_pod_template_is_warned_about(api, kind):
    path, body = _template_of(kind)
    r = api.post(path, body)
    assert r.status_code == 201, r.json
    assert 'PodSecurity \\"baseline:latest\\"' in r.headers.get("Warning", ""), kind
    assert "hostPath" in r.headers["Warning"]


@pytest.mark.parametrize("kind", ["Job", "StatefulSet"])
def test_the_job_and_statefulset_controllers_cannot_make_a_forbidden_pod(kind):
    from master.controllers.job import JobController
    from master.controllers.statefulset import StatefulSetController
    ctx, _ = make_context()
    _, obj = _template_of(kind)
    obj["metadata"]["namespace"] = "default"
    if kind == "Job":
        obj["spec"]["template"]["metadata"]["labels"] = {}  # the Job's default selector adds its own
    ctx.objects.create(obj)
    controller = (JobController if kind == "Job" else StatefulSetController)(ctx)
    for _ in range(5):
        ctx.informers.relist()
        if not controller.drain():
            break
    assert ctx.objects.list("Pod", "default").items == []
    events = ctx.objects.list("Event", "default").items
    assert any(e["reason"] == "FailedCreate" and "hostPath" in e["message"] for e in events)
