"""Manifests from files, directories and stdin; every problem names file, document, field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cli import manifests

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
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
        image: demo:1
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


def load(paths: list[str], stdin: str = "", validate: bool = True) -> list[manifests.Manifest]:
    return manifests.load(paths, io.StringIO(stdin), validate=validate)


def test_multi_document_yaml_keeps_order_and_document_numbers(tmp_path: Path) -> None:
    f = tmp_path / "app.yaml"
    f.write_text("---\n" + DEPLOY.format(replicas=2) + "---\n" + SVC + "---\n")
    found = load([str(f)])
    assert [(m.obj["kind"], m.index) for m in found] == [("Deployment", 1), ("Service", 2)]
    assert found[0].where == f"{f}: document 1"


def test_directory_is_read_in_sorted_order_skipping_other_files(tmp_path: Path) -> None:
    (tmp_path / "b-svc.yml").write_text(SVC)
    (tmp_path / "a-deploy.yaml").write_text(DEPLOY.format(replicas=1))
    (tmp_path / "c.json").write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "cfg"}, "data": {"a": "1"}}))
    (tmp_path / "README.md").write_text("not a manifest")
    assert [m.obj["kind"] for m in load([str(tmp_path)])] == ["Deployment", "Service", "ConfigMap"]


def test_stdin_and_list_documents() -> None:
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]})
    found = load(["-"], stdin=doc)
    assert [m.name for m in found] == ["a", "b"]
    assert found[0].source == "STDIN"


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n")
    with pytest.raises(manifests.ManifestError, match=r"web.yaml: line \d+, column \d+: invalid YAML"):
        load([str(f)])


def test_json_syntax_error_gives_the_line(tmp_path: Path) -> None:
    f = tmp_path / "web.json"
    f.write_text('{"kind": "Pod",\n "metadata": }')
    with pytest.raises(manifests.ManifestError, match="web.json: line 2, column 14: invalid JSON"):
        load([str(f)])


@pytest.mark.parametrize(("doc", "message"), [
    ("kind: Pod\nmetadata: {name: a}\n", "document 2: apiVersion: Required value"),
    ("apiVersion: v1\nmetadata: {name: a}\n", "document 2: kind: Required value"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "document 2: metadata.name: Required value"),
    ("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: a}\n",
     'document 2: no matches for kind "Frobnicator" in version "v1"'),
    ("apiVersion: v2\nkind: Pod\nmetadata: {name: a}\n",
     'document 2: no matches for kind "Pod" in version "v2"'),
    ("- just\n- a list\n", "document 2: expected an object"),
])
def test_incomplete_documents_are_refused(tmp_path: Path, doc: str, message: str) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(SVC + "---\n" + doc)
    with pytest.raises(manifests.ManifestError, match=message) as e:
        load([str(f)])
    assert str(f) in e.value.message
    assert e.value.exit_code == 2


def test_field_errors_name_file_document_and_field(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(SVC + "---\n" + DEPLOY.format(replicas='"three"'))
    with pytest.raises(manifests.ManifestError) as e:
        load([str(f)])
    assert e.value.message.startswith(f"{f}: document 2: spec.replicas: ")
    assert "integer" in e.value.message
    assert len(load([str(f)], validate=False)) == 2  # --no-validate leaves it to the server


def test_missing_path_and_empty_input(tmp_path: Path) -> None:
    with pytest.raises(manifests.ManifestError, match='the path ".*nope" does not exist'):
        load([str(tmp_path / "nope")])
    with pytest.raises(manifests.ManifestError, match="no objects passed to apply"):
        load(["-"], stdin="---\n")
    with pytest.raises(manifests.ManifestError, match="no \\*.yaml"):
        load([str(tmp_path)])
