"""/openapi/v2 and /openapi/v3: shaped as kubectl reads them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from coxapi import kinds
from coxapi.schema import openapipb

from .api_harness import ADMIN_TOKEN, Api


@pytest.fixture(scope="module")
def api() -> Api:
    return Api()


def get(api: Api, path: str, **headers: str) -> Any:
    r = api.client.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}", **headers})
    assert r.status_code == 200, r.data[:300]
    return r


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if "$ref" in node else []
        return out + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def deref(doc: dict, s: dict) -> dict:
    """Follow ``$ref`` (plain or in ``allOf``) as kubectl explain does."""
    while True:
        ref = s.get("$ref") or (s.get("allOf") or [{}])[0].get("$ref")
        if not ref:
            return s
        s = _at(doc, ref)


def _at(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def field_path(doc: dict, root: dict, path: str) -> dict:
    s = root
    for name in path.split("."):
        s = deref(doc, s)
        s = s["properties"][name]
        s = deref(doc, s)
        if s.get("type") == "array":
            s = deref(doc, s["items"])
    return s


def test_v3_index_lists_every_group_version_with_a_hash(api):
    index = get(api, "/openapi/v3").json
    assert set(index["paths"]) == {"api/v1", "apis/apps/v1", "apis/autoscaling/v2",
                                   "apis/autoscaling/v1",
                                   "apis/batch/v1", "apis/coordination.k8s.io/v1",
                                   "apis/storage.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1",
                                   "apis/authorization.k8s.io/v1",
                                   "apis/authentication.k8s.io/v1"}
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    r = get(api, url)
    assert r.headers["Cache-Control"] == "public, immutable"
    assert get(api, "/openapi/v3/apis/apps/v1").headers["Cache-Control"] == "no-cache, private"


def test_v3_document_has_kinds_with_gvk_and_resolvable_refs(api):
    doc = get(api, "/openapi/v3/api/v1").json
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    gvks = {(g["group"], g["version"], g["kind"]) for s in schemas.values()
            for g in s.get("x-kubernetes-group-version-kind", [])}
    for k in kinds.group_versions()["v1"]:
        assert ("", "v1", k.kind) in gvks
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and _at(doc, ref), ref


def test_explain_pod_spec_containers_resolves(api):
    doc = get(api, "/openapi/v3/api/v1").json
    pod = doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    containers = field_path(doc, pod, "spec.containers")
    assert "imagePullPolicy" in containers["properties"]
    assert containers["description"].startswith("A single application container")
    spec = deref(doc, pod["properties"]["spec"])
    c = spec["properties"]["containers"]
    assert c["x-kubernetes-patch-merge-key"] == "name"
    assert c["x-kubernetes-patch-strategy"] == "merge"
    ports = deref(doc, c["items"])["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert "x-kubernetes-patch-strategy" not in spec["properties"]["tolerations"]


def test_v3_patch_operations_advertise_field_validation_and_strategic_merge(api):
    doc = get(api, "/openapi/v3/apis/apps/v1").json
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps", "version": "v1", "kind": "Deployment"}
    names = {p["name"] for p in patch["parameters"] if p["in"] == "query"}
    assert {"fieldValidation", "dryRun", "fieldManager"} <= names
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    strategy = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"][
        "properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"


def test_v2_document(api):
    doc = get(api, "/openapi/v2").json
    assert doc["swagger"] == "2.0"
    assert doc["definitions"]["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "version": "v1", "kind": "Pod"}]
    for ref in refs(doc):
        assert ref.startswith("#/definitions/") and _at(doc, ref), ref
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in doc["paths"]
    assert "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases" in doc["paths"]


def wire(data: bytes) -> dict[int, list[Any]]:
    """A protobuf message's fields by number: varints as ints, everything
    length-delimited as bytes (read a nested message with ``wire`` again)."""
    out: dict[int, list[Any]] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
    while i < len(data):
        key = varint()
        field, kind = key >> 3, key & 7
        assert kind in (0, 2), kind
        if kind == 0:
            out.setdefault(field, []).append(varint())
        else:
            size = varint()
            out.setdefault(field, []).append(data[i:i + size])
            i += size
    return out


def named(entries: list[bytes]) -> dict[str, dict[int, list[Any]]]:
    """gnostic's ordered maps (NamedSchema, NamedAny, …): name → value's fields."""
    out = {}
    for e in entries:
        f = wire(e)
        out[f[1][0].decode()] = wire(f[2][0])
    return out


def test_v2_protobuf_is_what_client_go_reads(api):
    r = get(api, "/openapi/v2",
            Accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    # Go's mime parser refuses the "@" form in a Content-Type
    assert r.headers["Content-Type"] == \
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = wire(r.data)
    assert doc[1] == [b"2.0"]
    defs = named(wire(doc[9][0])[1])
    assert set(defs) == set(get(api, "/openapi/v2").json["definitions"])
    cm = defs["io.k8s.api.core.v1.ConfigMap"]
    ext = named(cm[31])["x-kubernetes-group-version-kind"]
    assert yaml.safe_load(ext[2][0].decode()) == [
        {"group": "", "version": "v1", "kind": "ConfigMap"}]
    assert wire(cm[22][0])[1] == [b"object"]
    # a described reference is a plain $ref (kube-openapi's v2 parser reads
    # allOf as "anything"), so kubectl checks what is under it
    spec = named(wire(defs["io.k8s.api.apps.v1.Deployment"][25][0])[1])["spec"]
    assert spec[1] == [b"#/definitions/io.k8s.api.apps.v1.DeploymentSpec"] and 24 not in spec
    paths = named(wire(doc[8][0])[2])
    patch = wire(paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"][8][0])
    params = [wire(wire(p)[1][0]) for p in patch[8]]  # ParametersItem.parameter
    non_body = [wire(p[2][0]) for p in params if 2 in p]
    assert b"fieldValidation" in [wire(q[3][0])[4][0] for q in non_body if 3 in q]


def test_v2_json_keeps_a_described_reference_beside_its_description(api):
    doc = get(api, "/openapi/v2").json
    spec = doc["definitions"]["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    assert spec["description"] and "allOf" not in spec


def test_the_protobuf_encoder_refuses_what_it_cannot_represent():
    with pytest.raises(ValueError, match="patternProperties"):
        openapipb.encode_v2({"swagger": "2.0", "definitions": {
            "x": {"type": "object", "patternProperties": {}}}})


def test_unacceptable_type_is_406_and_unknown_group_version_404(api):
    r = api.client.get("/openapi/v2", headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": "application/vnd.kubernetes.protobuf"})
    assert r.status_code == 406 and r.json["kind"] == "Status"
    r = api.client.get("/openapi/v3/apis/apps/v1", headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        "Accept": "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"})
    assert r.status_code == 406
    r = api.client.get("/openapi/v3/apis/nope/v1",
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 404
