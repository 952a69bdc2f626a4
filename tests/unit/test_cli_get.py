"""`cox get` against a fake API: tables, wide, -A, yaml/json/name, watch and error paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coxapi import errors as api
from tests.support import free_port
from tests.unit.cli_fakeapi import TOKEN, FakeApi, cox, write_kubeconfig


def add_pod(fake: FakeApi, name: str, ns: str = "default", node: str = "n1",
            labels: dict | None = None) -> None:
    fake.add({"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
              "spec": {"nodeName": node, "containers": [{"name": "c", "image": "demo"}]},
              "status": {"phase": "Running", "podIP": "10.244.1.9",
                         "containerStatuses": [{"ready": True, "restartCount": 0,
                                                "state": {"running": {}}}]}})


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_pods_table_in_the_context_namespace(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    add_pod(fake, "db-1", ns="data")
    r = cox(kc, "get", "po")
    assert r.exit_code == 0, r.output
    assert rows(r.stdout) == [["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
                              ["web-1", "1/1", "Running", "0", rows(r.stdout)[1][4]]]
    assert fake.calls("GET")[-1][1] == "/api/v1/namespaces/default/pods"


@pytest.mark.parametrize("spelling", ["pods", "pod", "Pod", "po"])
def test_kind_spellings(fake: FakeApi, kc: str, spelling: str) -> None:
    add_pod(fake, "web-1")
    assert "web-1" in cox(kc, "get", spelling).stdout


def test_wide_all_namespaces_and_selector(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1", labels={"app": "web"})
    add_pod(fake, "db-1", ns="data", node="n2", labels={"app": "db"})
    r = cox(kc, "get", "pods", "-A", "-o", "wide")
    table = rows(r.stdout)
    assert table[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                        "NOMINATED", "NODE", "READINESS", "GATES"]
    assert [(t[0], t[1], t[-3]) for t in table[1:]] == [("data", "db-1", "n2"),
                                                        ("default", "web-1", "n1")]
    r = cox(kc, "get", "pods", "-A", "-l", "app=db")
    assert [t[1] for t in rows(r.stdout)[1:]] == ["db-1"]
    assert fake.calls("GET")[-1][2]["labelSelector"] == "app=db"


def test_field_selector_is_sent(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "a", node="n1")
    add_pod(fake, "b", node="n2")
    r = cox(kc, "get", "po", "--field-selector", "spec.nodeName=n2")
    assert [t[0] for t in rows(r.stdout)[1:]] == ["b"]


def test_yaml_json_and_name_outputs(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    add_pod(fake, "web-2")
    one = yaml.safe_load(cox(kc, "get", "po", "web-1", "-o", "yaml").stdout)
    assert (one["kind"], one["metadata"]["name"]) == ("Pod", "web-1")
    many = json.loads(cox(kc, "get", "po", "-o", "json").stdout)
    assert many["kind"] == "List"
    # List items get their apiVersion/kind back, so they can be re-applied.
    assert [(i["kind"], i["apiVersion"], i["metadata"]["name"]) for i in many["items"]] == [
        ("Pod", "v1", "web-1"), ("Pod", "v1", "web-2")]
    assert cox(kc, "get", "po", "-o", "name").stdout.splitlines() == ["pod/web-1", "pod/web-2"]
    fake.add({"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}})
    assert cox(kc, "get", "deployment.apps/web", "-o", "name").stdout == "deployment.apps/web\n"


def test_several_kinds_prefix_names(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    fake.add({"kind": "Service", "metadata": {"name": "web"},
              "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.5", "ports": [{"port": 80}]}})
    r = cox(kc, "get", "po,svc")
    assert "pod/web-1" in r.stdout and "service/web" in r.stdout
    assert "CLUSTER-IP" in r.stdout


def test_empty_list_says_so_on_stderr(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "get", "deploy")
    assert r.exit_code == 0
    assert r.stdout == ""
    assert r.stderr.strip() == "No resources found in default namespace."


def test_not_found_uses_kubectls_wording_and_exit_3(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")
    r = cox(kc, "get", "po", "web-1", "x")
    assert r.exit_code == 3
    assert "web-1" in r.stdout  # what exists is still shown
    assert r.stderr.strip() == 'Error from server (NotFound): pods "x" not found'


def test_unknown_kind(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "get", "foo")
    assert r.exit_code == 2
    assert r.stderr.strip() == 'error: the server doesn\'t have a resource type "foo"'


def test_refused_token_is_unauthorized_exit_5(fake: FakeApi, tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", [fake.url], token="wrong")
    r = cox(kc, "get", "po")
    assert r.exit_code == 5
    assert r.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"
    assert "wrong" not in r.output and TOKEN not in r.output


def test_unreachable_cluster_names_every_address(tmp_path: Path) -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    kc = write_kubeconfig(tmp_path / "kc", urls)
    r = cox(kc, "get", "po")
    assert r.exit_code == 4
    line = r.stderr.strip()
    assert "\n" not in line
    assert line.startswith("error: unable to connect to the cluster: tried ")
    assert all(u in line for u in urls)
    assert "connection refused" in line


def test_failover_to_the_master_that_answers(fake: FakeApi, tmp_path: Path) -> None:
    add_pod(fake, "web-1")
    kc = write_kubeconfig(tmp_path / "kc", [f"http://127.0.0.1:{free_port()}", fake.url])
    r = cox(kc, "get", "po")
    assert r.exit_code == 0 and "web-1" in r.stdout


def test_missing_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    r = cox(str(tmp_path / "none"), "get", "po")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: no kubeconfig at")


def test_bad_selector_is_a_usage_error(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "get", "po", "-l", "a b c=")
    assert r.exit_code == 2 and r.stderr.startswith("error: invalid label")
    assert fake.requests == []


def test_watch_prints_rows_as_they_change(fake: FakeApi, kc: str) -> None:
    add_pod(fake, "web-1")

    def changes(f: FakeApi) -> None:
        add_pod(f, "web-2")
        f.remove("pods", "default", "web-1")

    fake.on_watch = changes
    r = cox(kc, "get", "po", "-w", "--watch-timeout", "1s")
    assert r.exit_code == 0, r.output
    names = [t[0] for t in rows(r.stdout)]
    assert names == ["NAME", "web-1", "web-2", "web-1"]
    watch_call = [c for c in fake.calls("GET") if c[2].get("watch") == "true"][0]
    assert int(watch_call[2]["resourceVersion"]) == 101  # from the list, no replay


def test_namespace_flags(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    add_pod(fake, "db-1", ns="data")
    assert "db-1" in cox(kc, "get", "po", "-n", "data").stdout
    assert "db-1" in cox(kc, "-n", "data", "get", "po").stdout
    kc2 = write_kubeconfig(tmp_path / "kc2", [fake.url], namespace="data")
    assert "db-1" in cox(kc2, "get", "po").stdout


def test_server_error_and_internal_error_are_one_line(fake: FakeApi, kc: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reject[("GET", "pods")] = api.InternalError("store exploded")
    r = cox(kc, "get", "po")
    assert r.exit_code == 1
    assert r.stderr == "Error from server (InternalError): store exploded\n"

    from cli import printers

    def boom(*a: object, **k: object) -> list:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(printers, "row_for", boom)
    fake.reject.clear()
    add_pod(fake, "web-1")
    r = cox(kc, "get", "po")
    assert r.exit_code == 1
    assert r.stderr == "error: internal error: ZeroDivisionError: division by zero\n"


def test_server_flag_overrides_the_kubeconfig_servers(fake: FakeApi, tmp_path: Path) -> None:
    add_pod(fake, "web-1")
    kc = write_kubeconfig(tmp_path / "kc", [f"http://127.0.0.1:{free_port()}"])
    r = cox(kc, "-s", fake.url, "get", "po", "-o", "name")
    assert (r.exit_code, r.stdout) == (0, "pod/web-1\n")  # the kubeconfig's token is kept
    r = cox(str(tmp_path / "none"), "-s", fake.url, "get", "po")
    assert r.exit_code == 5  # no kubeconfig, so no token
