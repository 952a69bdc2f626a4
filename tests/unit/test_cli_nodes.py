"""`cox cordon|uncordon|drain`, `cox top`, `cox logs`, `cox describe`, `cox cluster status`."""

from __future__ import annotations

from pathlib import Path

from cli.commands.nodes import plan_drain
from tests.support import free_port
from tests.unit.cli_fakeapi import FakeApi, FakeClock, cox, write_kubeconfig


def add_node(fake: FakeApi, name: str, ready: str = "True", usage: dict | None = None) -> None:
    status = {"conditions": [{"type": "Ready", "status": ready}],
              "allocatable": {"cpu": "4", "memory": "8Gi"},
              "addresses": [{"type": "InternalIP", "address": "10.250.0.11"}]}
    if usage:
        status["usage"] = usage
    fake.add({"kind": "Node", "metadata": {"name": name}, "spec": {}, "status": status})


def add_pod(fake: FakeApi, name: str, node: str = "n1", owner: str | None = "ReplicaSet",
            ns: str = "default", **status: object) -> None:
    meta: dict = {"name": name, "namespace": ns}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "web-h1", "controller": True}]
    fake.add({"kind": "Pod", "metadata": meta,
              "spec": {"nodeName": node, "containers": [{"name": "app", "image": "demo"}]},
              "status": {"phase": "Running", **status}})


def test_cordon_and_uncordon(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    assert cox(kc, "cordon", "n1").stdout == "node/n1 cordoned\n"
    assert fake.obj("nodes", "n1", "")["spec"]["unschedulable"] is True
    assert cox(kc, "cordon", "n1").stdout == "node/n1 already cordoned\n"
    assert cox(kc, "uncordon", "n1").stdout == "node/n1 uncordoned\n"
    assert "unschedulable" not in fake.obj("nodes", "n1", "")["spec"]
    r = cox(kc, "cordon", "nx")
    assert (r.exit_code, r.stderr) == (3, 'Error from server (NotFound): nodes "nx" not found\n')


def test_drain_refuses_unmanaged_pods_without_force(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    add_pod(fake, "web-1")
    add_pod(fake, "loner", owner=None)
    r = cox(kc, "drain", "n1")
    assert r.exit_code == 1
    assert r.stderr == ('error: unable to drain node "n1": cannot delete Pods that declare no '
                        "controller (use --force to override): default/loner\n")
    assert fake.calls("DELETE") == []
    assert fake.obj("nodes", "n1", "")["spec"]["unschedulable"] is True  # cordoned first


def test_drain_deletes_the_nodes_pods_and_waits(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    add_pod(fake, "web-1")
    add_pod(fake, "loner", owner=None, ns="tools")
    add_pod(fake, "elsewhere", node="n2")
    add_pod(fake, "ds-pod", owner="DaemonSet")
    clock = FakeClock()
    r = cox(kc, "drain", "n1", "--force", "--ignore-daemonsets", "--timeout", "1m", clock=clock)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "node/n1 cordoned", "evicting pod default/web-1", "evicting pod tools/loner",
        "pod/web-1 evicted", "pod/loner evicted", "node/n1 drained"]
    assert "ignoring DaemonSet-managed Pods: default/ds-pod" in r.stderr
    left = {name for (plural, _, name) in fake.objects if plural == "pods"}
    assert left == {"elsewhere", "ds-pod"}


def test_drain_plan_rules() -> None:
    def pod(name: str, owner: str | None = None, phase: str = "Running", **spec: object) -> dict:
        refs = [{"kind": owner, "controller": True}] if owner else []
        return {"metadata": {"name": name, "namespace": "d", "ownerReferences": refs},
                "spec": spec, "status": {"phase": phase}}

    pods = [pod("a", "ReplicaSet"), pod("done", phase="Succeeded"), pod("ds", "DaemonSet"),
            pod("vol", "ReplicaSet", volumes=[{"name": "v", "emptyDir": {}}])]
    plan = plan_drain(pods, force=False, ignore_daemonsets=False, delete_emptydir_data=False)
    assert [p["metadata"]["name"] for p in plan.delete] == ["a", "done"]
    assert len(plan.errors) == 2
    assert "DaemonSet" in plan.errors[0] and "local storage" in plan.errors[1]
    plan = plan_drain(pods, force=False, ignore_daemonsets=True, delete_emptydir_data=True)
    assert plan.errors == []
    assert [p["metadata"]["name"] for p in plan.delete] == ["a", "done", "vol"]


def test_drain_times_out(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    add_pod(fake, "stuck")
    fake.remove = lambda *a: fake.objects[("pods", "default", "stuck")]  # type: ignore
    clock = FakeClock()
    r = cox(kc, "drain", "n1", "--timeout", "5s", clock=clock)
    assert r.exit_code == 6
    assert r.stderr == ('error: drain of node "n1" timed out after 5s; still terminating: '
                        "default/stuck\n")
    assert "waiting for 1 pod(s) to terminate: default/stuck" in r.stdout.splitlines()


def test_top_nodes_and_pods_read_the_metrics_api(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    add_node(fake, "n2")
    m = "/apis/metrics.k8s.io/v1beta1"
    fake.metrics[f"{m}/nodes"] = [{"metadata": {"name": "n1"},
                                   "usage": {"cpu": "1000000000n", "memory": "2097152Ki"}}]
    web = {"metadata": {"name": "web-1", "namespace": "default"}, "containers": [
        {"name": "app", "usage": {"cpu": "249000001n", "memory": "122880Ki"}},
        {"name": "side", "usage": {"cpu": "1000000n", "memory": "3072Ki"}}]}
    fake.metrics[f"{m}/namespaces/default/pods"] = [web]
    fake.metrics[f"{m}/pods"] = [web]
    r = cox(kc, "top", "nodes")
    assert [line.split() for line in r.stdout.splitlines()] == [
        ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"],
        ["n1", "1000m", "25%", "2048Mi", "25%"],
        ["n2", "<unknown>", "<unknown>", "<unknown>", "<unknown>"]]
    r = cox(kc, "top", "pods")
    assert [line.split() for line in r.stdout.splitlines()] == [
        ["NAME", "CPU(cores)", "MEMORY(bytes)"], ["web-1", "251m", "123Mi"]]
    r = cox(kc, "top", "pods", "--containers")
    assert [line.split() for line in r.stdout.splitlines()] == [
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], ["web-1", "app", "250m", "120Mi"],
        ["web-1", "side", "1m", "3Mi"]]
    r = cox(kc, "top", "pods", "-A")
    assert r.stdout.split()[:4] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    r = cox(kc, "top", "pods", "-n", "empty")
    assert r.exit_code == 1 and r.stderr.startswith("error: metrics not available yet")


def test_logs_reads_the_log_subresource(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    fake.logs[("default", "web-1", "app")] = ["one", "two", "three"]
    r = cox(kc, "logs", "web-1", "--tail", "2")
    assert (r.exit_code, r.stdout) == (0, "two\nthree\n")
    call = fake.calls("GET")[-1]
    assert call[1] == "/api/v1/namespaces/default/pods/web-1/log"
    assert call[2] == {"container": "app", "tailLines": "2"}
    assert cox(kc, "logs", "pod/web-1", "-c", "app", "-f").stdout == "one\ntwo\nthree\n"
    assert fake.calls("GET")[-1][2]["follow"] == "true"
    r = cox(kc, "logs", "web-1", "-c", "nope")
    assert r.exit_code == 2 and "choose one of: [app]" in r.stderr
    r = cox(kc, "logs", "ghost")
    assert (r.exit_code, r.stderr) == (3, 'Error from server (NotFound): pods "ghost" not found\n')


def test_describe_shows_fields_and_events(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1", containerStatuses=[{"name": "app", "ready": True, "restartCount": 2,
                                               "state": {"running": {}}}])
    ev = {"kind": "Event", "type": "Normal", "reason": "Scheduled", "message": "assigned to n1",
          "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
          "source": {"component": "scheduler"}}
    fake.add({**ev, "metadata": {"name": "e1"}})
    fake.add({**ev, "metadata": {"name": "e2"}, "reason": "Other",
              "involvedObject": {"kind": "Pod", "name": "web-2"}})
    r = cox(kc, "describe", "pod", "web-1")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.splitlines()[0].split() == ["Name:", "web-1"]
    assert "Namespace:" in out and "Controlled By:" in out and "ReplicaSet/web-h1" in out
    assert "Image:          demo" in out and "Restart Count:  2" in out
    assert "Scheduled" in out and "assigned to n1" in out and "Other" not in out
    assert fake.calls("GET")[-1][2]["fieldSelector"] == "involvedObject.name=web-1"


def test_describe_filters_events_itself_if_the_server_cannot(fake: FakeApi, kc: str) -> None:
    add_node(fake, "n1")
    fake.field_selectors = False
    ev = {"kind": "Event", "type": "Warning", "reason": "NodeNotReady", "message": "gone",
          "involvedObject": {"kind": "Node", "name": "n1"}}
    fake.add({**ev, "metadata": {"name": "e1"}})
    fake.add({**ev, "metadata": {"name": "e2"}, "reason": "Unrelated",
              "involvedObject": {"kind": "Pod", "name": "n1"}})
    r = cox(kc, "describe", "no/n1")
    assert r.exit_code == 0, r.output
    assert "NodeNotReady" in r.stdout and "Unrelated" not in r.stdout
    assert "Allocatable:" in r.stdout


def test_cluster_status_lists_masters_and_nodes(fake: FakeApi, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    kc = write_kubeconfig(tmp_path / "kc", [fake.url, down])
    add_node(fake, "n1")
    add_node(fake, "n2", ready="False")
    r = cox(kc, "cluster", "status")
    assert r.exit_code == 0, r.output
    lines = [line.split() for line in r.stdout.splitlines()]
    assert lines[1] == ["NAME", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "STATUS"]
    assert lines[2] == ["*", "m1", fake.url, "leader", "3", "42", "42", "reachable"]
    assert lines[3][:3] == ["?", down, "-"] and "unreachable" in lines[3]
    assert lines[5:7] == [["MEMBERS", "(the", "leader's", "view)"],
                          ["NAME", "RAFT", "ADDRESS", "ROLE", "REACHABLE", "MATCH", "COMMIT",
                           "CATCH-UP"]]
    assert lines[7] == ["*", "m1", "127.0.0.1:7001", "voter", "yes", "42", "42", "caught", "up"]
    assert lines[8] == ["?", "127.0.0.1:7002", "voter", "no", "40", "42", "2", "behind"]
    assert [row[:2] for row in lines[10:]] == [["NODE", "STATUS"], ["n1", "Ready"],
                                               ["n2", "NotReady"]]


def test_cluster_status_when_no_master_answers(tmp_path: Path) -> None:
    urls = [f"http://127.0.0.1:{free_port()}"]
    r = cox(write_kubeconfig(tmp_path / "kc", urls), "cluster", "status")
    assert r.exit_code == 4
    assert r.stderr.startswith(f"error: unable to connect to the cluster: tried {urls[0]}")


def test_cluster_status_without_a_leader(fake: FakeApi, kc: str) -> None:
    fake.raft_status = {"name": "m1", "role": "candidate", "term": 9}
    r = cox(kc, "cluster", "status")
    assert r.exit_code == 1 and "no master reports itself leader" in r.stderr


def test_logs_options_become_the_query(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    fake.logs[("default", "web-1", "app")] = ["one"]
    r = cox(kc, "logs", "web-1", "-p", "--timestamps", "--since", "1m30s", "--limit-bytes", "9")
    assert r.exit_code == 0, r.stderr
    assert fake.calls("GET")[-1][2] == {"container": "app", "previous": "true",
                                         "timestamps": "true", "sinceSeconds": "90",
                                         "limitBytes": "9"}
    cox(kc, "logs", "web-1", "--since-time", "2024-01-01T00:00:00Z")
    assert fake.calls("GET")[-1][2]["sinceTime"] == "2024-01-01T00:00:00Z"
    r = cox(kc, "logs", "web-1", "--since", "1m", "--since-time", "2024-01-01T00:00:00Z")
    assert r.exit_code == 2 and "at most one of --since and --since-time" in r.stderr
    assert cox(kc, "logs", "web-1", "--since", "soon").exit_code == 2


def test_logs_of_the_pods_a_selector_picks_with_prefixes(fake: FakeApi, kc: str) -> None:
    for name, app in (("web-1", "web"), ("web-2", "web"), ("db-1", "db")):
        fake.add({"kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                              "labels": {"app": app}},
                  "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "demo"}]}})
    fake.logs[("default", "web-1", "app")] = ["a"]
    fake.logs[("default", "web-2", "app")] = ["b"]
    r = cox(kc, "logs", "-l", "app=web", "--prefix")
    assert r.exit_code == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["[pod/web-1/app] a", "[pod/web-2/app] b"]
    assert fake.calls("GET")[-1][2]["tailLines"] == "10"  # kubectl's default with -l
    r = cox(kc, "logs", "-l", "app=web", "-f")
    assert sorted(r.stdout.splitlines()) == ["a", "b"]
    assert cox(kc, "logs").exit_code == 2
