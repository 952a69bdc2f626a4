"""What kubectl relies on, against real master processes: Table output,
strategic merge patch, dryRun=All, fieldValidation and the OpenAPI documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coxapi import errors
from coxapi.client import Client
from tests.masters import MasterCluster

pytestmark = pytest.mark.integration

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
SMP = "application/strategic-merge-patch+json"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    mc = MasterCluster.create(Path(tmp_path_factory.mktemp("masters")))
    try:
        c = mc.client()
        yield c
        c.close()
    except BaseException:
        print(mc.logs())
        raise
    finally:
        mc.stop()


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "app", "image": "web:1",
                                         "ports": [{"containerPort": 80}],
                                         "resources": {"limits": {"memory": "64Mi"}}}]}}}}


def test_table_strategic_patch_dry_run_and_field_validation(client):
    client.request("POST", DEPLOY, body=deployment("web"))
    table = client.request("GET", DEPLOY, headers={"Accept": TABLE})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table["rows"][0]["cells"][0] == "web"

    # kubectl set image
    client.request("PATCH", f"{DEPLOY}/web", content_type=SMP, body={"spec": {"template": {
        "spec": {"$setElementOrder/containers": [{"name": "app"}],
                 "containers": [{"name": "app", "image": "web:2"}]}}}})
    (c,) = client.request("GET", f"{DEPLOY}/web")["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "web:2" and c["ports"][0]["containerPort"] == 80
    assert c["resources"]["limits"] == {"memory": "64Mi"}

    before = client.request("GET", f"{DEPLOY}/web")
    would = client.request("PATCH", f"{DEPLOY}/web/scale", params={"dryRun": "All"},
                           content_type=SMP, body={"spec": {"replicas": 4}})
    assert would["spec"]["replicas"] == 4
    gone = client.request("DELETE", f"{DEPLOY}/web", body={"dryRun": ["All"]})
    assert gone["kind"] == "Status" and gone["details"]["name"] == "web"
    after = client.request("GET", f"{DEPLOY}/web")  # still there, unchanged
    assert after["spec"] == before["spec"] and "deletionTimestamp" not in after["metadata"]

    bad = deployment("typo")
    bad["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    with pytest.raises(errors.BadRequest, match="imagePulPolicy"):
        client.request("POST", DEPLOY, params={"fieldValidation": "Strict"}, body=bad)
    with pytest.raises(errors.NotFound):
        client.request("GET", f"{DEPLOY}/typo")


def test_openapi_documents(client):
    index = client.request("GET", "/openapi/v3")
    doc = client.request("GET", index["paths"]["api/v1"]["serverRelativeURL"])
    assert "io.k8s.api.core.v1.Pod" in doc["components"]["schemas"]
    assert client.request("GET", "/openapi/v2")["swagger"] == "2.0"
