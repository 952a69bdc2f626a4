"""`cox apply` / `cox create` against a fake API: created, configured, unchanged, errors."""

from __future__ import annotations

import json
from pathlib import Path

from cli.commands.merge import LAST_APPLIED
from tests.unit.cli_fakeapi import FakeApi, cox

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
"""
SVC = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
"""


def manifest(tmp_path: Path, text: str, name: str = "web.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_apply_creates_then_is_unchanged_then_configured(fake: FakeApi, kc: str,
                                                          tmp_path: Path) -> None:
    f = manifest(tmp_path, DEPLOY.format(replicas=2, image="demo:1") + "---\n" + SVC)
    r = cox(kc, "apply", "-f", f)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["deployment.apps/web created", "service/web created"]
    live = fake.obj("deployments", "web")
    assert json.loads(live["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 2

    # The server fills defaults and status; applying again changes nothing.
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"replicas": 2}
    r = cox(kc, "apply", "-f", f)
    assert r.stdout.splitlines() == ["deployment.apps/web unchanged", "service/web unchanged"]
    assert fake.calls("PATCH") == []

    f = manifest(tmp_path, DEPLOY.format(replicas=3, image="demo:2") + "---\n" + SVC)
    r = cox(kc, "apply", "-f", f)
    assert r.stdout.splitlines() == ["deployment.apps/web configured", "service/web unchanged"]
    live = fake.obj("deployments", "web")
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "demo:2"
    assert live["spec"]["strategy"] == {"type": "RollingUpdate"}  # not ours: kept
    patch = fake.calls("PATCH")[0][3]
    assert patch["metadata"]["resourceVersion"]  # conditional on what we read


def test_apply_removes_a_field_dropped_from_the_manifest(fake: FakeApi, kc: str,
                                                         tmp_path: Path) -> None:
    with_min = DEPLOY.format(replicas=1, image="demo:1") + "  minReadySeconds: 5\n"
    cox(kc, "apply", "-f", manifest(tmp_path, with_min))
    assert fake.obj("deployments", "web")["spec"]["minReadySeconds"] == 5
    r = cox(kc, "apply", "-f", manifest(tmp_path, DEPLOY.format(replicas=1, image="demo:1")))
    assert r.stdout == "deployment.apps/web configured\n"
    assert "minReadySeconds" not in fake.obj("deployments", "web")["spec"]


def test_apply_directory_in_sorted_order_and_stdin(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    d = tmp_path / "app"
    d.mkdir()
    manifest(d, SVC, "2-svc.yml")
    manifest(d, DEPLOY.format(replicas=1, image="demo:1"), "1-deploy.yaml")
    r = cox(kc, "apply", "-f", str(d))
    assert r.stdout.splitlines() == ["deployment.apps/web created", "service/web created"]
    cm = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                     "data": {"k": "v"}})
    r = cox(kc, "apply", "-f", "-", "-n", "shop", input=cm)
    assert r.stdout == "configmap/cfg created\n"
    assert fake.obj("configmaps", "cfg", "shop")["data"] == {"k": "v"}


def test_namespace_mismatch_is_refused(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    f = manifest(tmp_path, SVC.replace("name: web", "name: web\n  namespace: a"))
    r = cox(kc, "apply", "-f", f, "-n", "b")
    assert r.exit_code == 2
    assert 'the namespace from the provided object "a" does not match the namespace "b"' in r.stderr
    assert fake.requests == []


def test_bad_manifest_names_file_document_and_field(fake: FakeApi, kc: str,
                                                    tmp_path: Path) -> None:
    f = manifest(tmp_path, SVC + "---\n" + DEPLOY.format(replicas='"x"', image="demo:1"))
    r = cox(kc, "apply", "-f", f)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {f}: document 2: spec.replicas: ")
    assert fake.requests == []  # nothing is applied when any document is bad


def test_bad_yaml_gives_the_line(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    f = manifest(tmp_path, "apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n")
    r = cox(kc, "apply", "-f", f)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {f}: line ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_document_without_kind_and_with_unknown_kind(fake: FakeApi, kc: str,
                                                     tmp_path: Path) -> None:
    r = cox(kc, "apply", "-f", manifest(tmp_path, "apiVersion: v1\nmetadata: {name: a}\n"))
    assert (r.exit_code, r.stderr) == (2, f"error: {tmp_path}/web.yaml: document 1: kind: "
                                          "Required value\n")
    r = cox(kc, "apply", "-f", manifest(tmp_path, "apiVersion: v1\nkind: Foo\nmetadata: {name: a}\n"))
    assert r.exit_code == 2 and 'no matches for kind "Foo" in version "v1"' in r.stderr


def test_server_validation_error_shows_the_fields(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    f = manifest(tmp_path, DEPLOY.format(replicas=-1, image="demo:1"))
    r = cox(kc, "apply", "-f", f, "--no-validate")
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"{f}: document 1: Error from server (Invalid): ")
    assert "spec.replicas" in lines[0]
    assert lines[-1] == "error: 1 of 1 objects failed"


def test_create_reports_already_exists_and_goes_on(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    fake.add({"kind": "Service", "metadata": {"name": "web"}, "spec": {}})
    f = manifest(tmp_path, SVC + "---\n" + DEPLOY.format(replicas=1, image="demo:1"))
    r = cox(kc, "create", "-f", f)
    assert r.exit_code == 1
    assert r.stdout == "deployment.apps/web created\n"
    assert 'Error from server (AlreadyExists): services "web" already exists' in r.stderr
    assert LAST_APPLIED not in (fake.obj("deployments", "web")["metadata"].get("annotations") or {})


def test_dry_run_writes_nothing(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    r = cox(kc, "apply", "--dry-run", "-f", manifest(tmp_path, SVC))
    assert r.stdout == "service/web created (dry run)\n"
    assert fake.calls("POST") == []


def test_apply_needs_a_file(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "apply")
    assert r.exit_code == 2 and r.stderr == "error: must specify -f FILE|DIR|-\n"
