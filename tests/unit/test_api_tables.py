"""Server-side printing: Table answers for gets, lists and watches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from coxapi import kinds, table
from tests.support import wait_until

from .api_harness import ADMIN_TOKEN, Api, deployment, pod

KUBECTL_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                  "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
POD = "/api/v1/namespaces/default/pods"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def get_table(api: Api, path: str, accept: str = KUBECTL_ACCEPT, **query: str) -> dict:
    r = api.client.get(path, query_string=query, headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": accept})
    assert r.status_code == 200, r.json
    return r.json


def test_pod_list_has_kubectls_columns_with_wide_ones_at_priority_1(api):
    api.post(POD, pod("web", node="n1"))
    t = get_table(api, POD)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    defs = [(c["name"], c["priority"]) for c in t["columnDefinitions"]]
    assert defs == [("NAME", 0), ("READY", 0), ("STATUS", 0), ("RESTARTS", 0), ("AGE", 0),
                    ("IP", 1), ("NODE", 1), ("NOMINATED NODE", 1), ("READINESS GATES", 1)]
    assert t["columnDefinitions"][0]["format"] == "name"
    assert all(c["type"] == "string" and c["description"] for c in t["columnDefinitions"])
    (row,) = t["rows"]
    assert row["cells"][:3] == ["web", "0/1", "Pending"]
    assert row["cells"][5:] == ["<none>", "n1", "<none>", "<none>"]
    # kubectl needs the metadata (namespace for -A, name, labels for --show-labels).
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["namespace"] == "default"
    assert "spec" not in row["object"]
    assert t["metadata"]["resourceVersion"]


def test_deployment_columns_match_cox_get(api):
    api.post(DEPLOY, deployment("web"))
    t = get_table(api, DEPLOY)
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    cells = t["rows"][0]["cells"]
    assert cells[:4] == ["web", "0/2", "0", "0"] and cells[5:] == ["app", "web:1", "app=web"]


def test_every_kind_answers_a_table() -> None:
    # One source: the server's columns are the CLI's (the strategy's printer columns).
    for kind in kinds.KINDS:
        names = [c["name"] for c in _defs(kind)]
        cli = (["NAME"] if kind.strategy.name_column else []) + [
            c.name for c in kind.strategy.columns]
        assert names == cli, kind.kind


def _defs(kind: kinds.Kind) -> list[dict]:
    return table.column_definitions(kind)


def test_single_get_and_include_object(api):
    api.post(POD, pod("web"))
    one = get_table(api, f"{POD}/web")
    assert len(one["rows"]) == 1 and one["rows"][0]["cells"][0] == "web"
    full = get_table(api, f"{POD}/web", includeObject="Object")
    assert full["rows"][0]["object"]["kind"] == "Pod"
    assert full["rows"][0]["object"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    bare = get_table(api, POD, includeObject="None")
    assert "object" not in bare["rows"][0]
    v1beta1 = get_table(api, POD, accept="application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    assert v1beta1["apiVersion"] == "meta.k8s.io/v1beta1"
    assert v1beta1["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_bad_include_object_is_400_and_unservable_accept_is_406(api):
    h = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    r = api.client.get(POD, query_string={"includeObject": "All"},
                       headers={**h, "Accept": KUBECTL_ACCEPT})
    assert r.status_code == 400 and "includeObject" in r.json["message"]
    r = api.client.get(POD, headers={**h, "Accept": "application/json;as=Table;v=v2;g=meta.k8s.io"})
    assert r.status_code == 406 and r.json["reason"] == "NotAcceptable"
    # Without a Table in Accept, plain JSON as before.
    r = api.client.get(POD, headers={**h, "Accept": "application/json"})
    assert r.json["kind"] == "PodList"


def test_table_list_from_the_watch_cache(api):
    api.post(POD, pod("a"))
    api.post(POD, pod("b"))
    t = get_table(api, POD, resourceVersion="0")
    assert sorted(r["cells"][0] for r in t["rows"]) == ["a", "b"]


def test_watch_events_carry_tables(api):
    api.post(POD, pod("a"))
    events: list[dict] = []

    def read() -> None:
        with api.session().get(api.url + POD, params={"watch": "true", "timeoutSeconds": "3"},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                   "Accept": KUBECTL_ACCEPT}, stream=True, timeout=30) as resp:
            assert resp.status_code == 200
            for line in resp.iter_lines():
                if line.strip():
                    events.append(json.loads(line))
                if len(events) >= 2:
                    return
    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: len(events) >= 1, timeout=10)
    api.post(POD, pod("b"))
    reader.join(timeout=20)
    assert [e["type"] for e in events] == ["ADDED", "ADDED"]
    for e, name in zip(events, ("a", "b"), strict=True):
        assert e["object"]["kind"] == "Table"
        assert e["object"]["columnDefinitions"][1]["name"] == "READY"
        assert e["object"]["rows"][0]["cells"][0] == name
        assert e["object"]["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
