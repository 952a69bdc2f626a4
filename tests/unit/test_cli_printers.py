"""Pure formatting of `cox get` output: AGE, pod STATUS, the columns per kind, top rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from cli import printers
from coxapi.kinds import lookup

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (192, "3m12s"), (599, "9m59s"),
    (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 25 * 60, "3h25m"),
    (8 * 3600, "8h"), (47 * 3600, "47h"), (2 * 86400, "2d"), (2 * 86400 + 5 * 3600, "2d5h"),
    (8 * 86400, "8d"), (400 * 86400, "400d"), (3 * 365 * 86400 + 45 * 86400, "3y45d"),
    (9 * 365 * 86400, "9y"), (-0.5, "0s"), (-5, "<invalid>"),
])
def test_age_is_formatted_like_kubectl(seconds: float, text: str) -> None:
    assert printers.human_duration(seconds) == text


def test_age_of_a_missing_or_bad_timestamp_is_unknown() -> None:
    assert printers.age(None, NOW) == "<unknown>"
    assert printers.age("yesterday", NOW) == "<unknown>"
    assert printers.age(ts(192), NOW) == "3m12s"


def pod(phase: str = "Running", statuses: list | None = None, **meta: object) -> dict:
    return {"metadata": {"name": "p", "creationTimestamp": ts(60), **meta},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": phase, "containerStatuses": statuses or []}}


def running(ready: bool = True, restarts: int = 0) -> dict:
    return {"ready": ready, "restartCount": restarts, "state": {"running": {}}}


def waiting(reason: str) -> dict:
    return {"ready": False, "restartCount": 4, "state": {"waiting": {"reason": reason}}}


def terminated(reason: str | None = None, code: int = 0, signal: int | None = None) -> dict:
    t: dict = {"exitCode": code}
    if reason:
        t["reason"] = reason
    if signal:
        t["signal"] = signal
    return {"ready": False, "state": {"terminated": t}}


@pytest.mark.parametrize(("p", "status"), [
    (pod("Running", [running(), running()]), "Running"),
    (pod("Pending"), "Pending"),
    (pod("Pending", [waiting("ContainerCreating"), waiting("ContainerCreating")]),
     "ContainerCreating"),
    (pod("Running", [running(), waiting("CrashLoopBackOff")]), "CrashLoopBackOff"),
    (pod("Pending", [waiting("ImagePullBackOff"), running()]), "ImagePullBackOff"),
    (pod("Succeeded", [terminated("Completed"), terminated("Completed")]), "Completed"),
    (pod("Failed", [terminated("Error", 1), terminated("Completed")]), "Error"),
    (pod("Failed", [terminated(code=137), terminated(code=0, reason="Completed")]),
     "ExitCode:137"),
    (pod("Failed", [terminated(code=0, signal=9), running()]), "Signal:9"),
    (pod("Running", [running(), running()], deletionTimestamp=ts(1)), "Terminating"),
])
def test_pod_status_is_computed_like_kubectl(p: dict, status: str) -> None:
    assert printers.pod_status(p) == status


def test_pod_status_reports_init_containers() -> None:
    p = pod("Pending")
    p["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    p["status"]["initContainerStatuses"] = [
        {"state": {"terminated": {"exitCode": 0}}}, {"state": {"running": {}}}]
    assert printers.pod_status(p) == "Init:1/2"
    p["status"]["initContainerStatuses"][1] = {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    assert printers.pod_status(p) == "Init:CrashLoopBackOff"


def test_pod_ready_and_restarts_columns() -> None:
    p = pod("Running", [running(restarts=2), running(ready=False, restarts=1)])
    assert printers.pod_ready(p) == "1/2"
    assert printers.pod_restarts(p, NOW) == "3"
    p["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"finishedAt": ts(125)}}
    assert printers.pod_restarts(p, NOW) == "3 (2m5s ago)"


def table(kind: str, objs: list[dict], **kw: bool) -> list[str]:
    k = lookup(kind)
    rows = [printers.headers_for(k, **kw)] + [printers.row_for(k, o, NOW, **kw) for o in objs]
    return printers.render_table(rows)


def cells(line: str) -> list[str]:
    return line.split()


def test_pod_table_and_wide_and_all_namespaces() -> None:
    p = pod("Running", [running(), running()])
    p["metadata"].update(name="web-abc", namespace="prod")
    p["spec"]["nodeName"] = "n1"
    p["status"]["podIP"] = "10.244.1.5"
    lines = table("po", [p])
    assert cells(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert cells(lines[1]) == ["web-abc", "2/2", "Running", "0", "60s"]
    wide = table("po", [p], wide=True, all_namespaces=True)
    assert cells(wide[0]) == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP",
                              "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert cells(wide[1]) == ["prod", "web-abc", "2/2", "Running", "0", "60s", "10.244.1.5", "n1",
                              "<none>", "<none>"]
    # Columns line up: every cell starts where its header starts.
    assert lines[1].index("Running") == lines[0].index("STATUS")


def test_deployment_replicaset_service_columns() -> None:
    d = {"metadata": {"name": "web", "creationTimestamp": ts(30)},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells(table("deploy", [d])[0]) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert cells(table("deploy", [d])[1]) == ["web", "2/3", "3", "2", "30s"]
    assert cells(table("deploy", [d], wide=True)[1])[-3:] == ["c", "img:1", "app=web"]
    rs = {"metadata": {"name": "web-5d", "creationTimestamp": ts(30)}, "spec": {"replicas": 3},
          "status": {"replicas": 3, "readyReplicas": 1}}
    assert cells(table("rs", [rs])[0]) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert cells(table("rs", [rs])[1]) == ["web-5d", "3", "3", "1", "30s"]
    svc = {"metadata": {"name": "web", "creationTimestamp": ts(30)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                              {"port": 53, "protocol": "UDP"}]}}
    assert cells(table("svc", [svc])[0]) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                             "PORT(S)", "AGE"]
    assert cells(table("svc", [svc])[1]) == ["web", "NodePort", "10.96.0.10", "<none>",
                                             "80:30080/TCP,53/UDP", "30s"]


def test_node_columns_with_conditions_roles_and_cordon() -> None:
    n = {"metadata": {"name": "n1", "creationTimestamp": ts(3 * 86400),
                      "labels": {"node-role.kubernetes.io/worker": ""}},
         "spec": {"unschedulable": True},
         "status": {"conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "InternalIP", "address": "10.250.0.11"}],
                    "nodeInfo": {"kubeletVersion": "v0.1.0", "osImage": "Debian",
                                 "kernelVersion": "6.1", "containerRuntimeVersion": "docker://24"}}}
    lines = table("no", [n], wide=True)
    assert cells(lines[0]) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                               "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert cells(lines[1]) == ["n1", "Ready,SchedulingDisabled", "worker", "3d", "v0.1.0",
                               "10.250.0.11", "<none>", "Debian", "6.1", "docker://24"]
    n["status"]["conditions"][0]["status"] = "Unknown"
    assert printers.node_status(n) == "Unknown,SchedulingDisabled"


def test_small_kinds_columns() -> None:
    meta = {"name": "x", "creationTimestamp": ts(5)}
    ep = {"metadata": meta, "subsets": [{"addresses": [{"ip": f"10.244.0.{i}"} for i in range(5)],
                                         "ports": [{"port": 80}]}]}
    assert re.split(r"\s{3,}", table("ep", [ep])[1])[1] == (
        "10.244.0.0:80,10.244.0.1:80,10.244.0.2:80 + 2 more...")
    assert cells(table("ns", [{"metadata": meta}])[1]) == ["x", "Active", "5s"]
    assert cells(table("cm", [{"metadata": meta, "data": {"a": "1", "b": "2"}}])[1]) == [
        "x", "2", "5s"]
    assert cells(table("secret", [{"metadata": meta, "type": "Opaque", "data": {"a": "MQ=="}}])[0]) \
        == ["NAME", "TYPE", "DATA", "AGE"]
    assert cells(table("lease", [{"metadata": meta, "spec": {"holderIdentity": "n1"}}])[1]) == [
        "x", "n1", "5s"]
    ev = {"metadata": meta, "type": "Warning", "reason": "BackOff", "lastTimestamp": ts(7),
          "involvedObject": {"kind": "Pod", "name": "web-1"}, "message": "Back-off  restarting"}
    lines = table("events", [ev])
    assert lines[0].split("   ")[0] == "LAST SEEN"
    assert cells(lines[1]) == ["7s", "Warning", "BackOff", "pod/web-1", "Back-off", "restarting"]


def test_names_and_lists() -> None:
    assert printers.object_ref(lookup("deploy"), "web") == "deployment.apps/web"
    assert printers.object_ref(lookup("po"), "web") == "pod/web"
    assert printers.plural_name(lookup("rs")) == "replicasets.apps"
    doc = printers.as_list([{"kind": "Pod"}])
    assert doc["kind"] == "List" and doc["items"] == [{"kind": "Pod"}]
    assert list(printers.canonical({"spec": 1, "kind": "K", "apiVersion": "v1"})) == [
        "apiVersion", "kind", "spec"]


def test_top_rows_compute_percent_of_allocatable() -> None:
    node = {"metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "2", "memory": "2Gi"}}}
    usage = {"cpu": "250000001n", "memory": "524288Ki"}
    assert printers.top_node_row(node, usage) == ["n1", "251m", "12%", "512Mi", "25%"]
    assert printers.top_node_row({"metadata": {"name": "n2"}, "status": {}}, None)[1] == \
        "<unknown>"
    metrics = {"containers": [{"usage": {"cpu": "12000000n", "memory": "2048Ki"}},
                              {"usage": {"cpu": "1m", "memory": "1Mi"}}]}
    assert printers.top_usage_cells(printers.pod_metrics_usage(metrics)) == ["13m", "3Mi"]
