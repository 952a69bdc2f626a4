"""Protobuf request bodies through the API (issue 15): what kubectl 1.32's
typed clients sent (the fixtures of test_protobody.py) creates, updates and
deletes as its JSON would; a body the server cannot read is refused, naming
what it could not read, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .api_harness import ADMIN_TOKEN, Api, pod

PROTOBUF = "application/vnd.kubernetes.protobuf"
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": PROTOBUF,
           "Accept": f"{PROTOBUF},application/json"}  # as kubectl asks
FIXTURES = Path(__file__).with_name("protobuf_bodies")


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def sent(name: str) -> bytes:
    return bytes.fromhex(json.loads((FIXTURES / f"{name}.json").read_text())["body"])


def send(api: Api, method: str, path: str, body: bytes):
    return api.session().request(method, api.url + path, data=body, headers=HEADERS, timeout=10)


def test_kubectl_create_deployment_creates_it_and_answers_json(api):
    r = send(api, "POST", "/apis/apps/v1/namespaces/default/deployments", sent("deployment"))
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    dep = api.get("/apis/apps/v1/namespaces/default/deployments/pdep").json
    assert dep["spec"]["replicas"] == 0
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("nginx:1.27", 8080)


def test_a_protobuf_update_replaces_the_object(api):
    path = "/api/v1/namespaces/default/configmaps"
    assert send(api, "POST", path, sent("configmap")).status_code == 201
    assert api.patch(f"{path}/pcm", {"data": {"a": "changed"}}).status_code == 200
    r = send(api, "PUT", f"{path}/pcm", sent("configmap"))
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"a": "1", "b": "two"}


def test_kubectl_create_token_gets_a_token(api):
    api.post("/api/v1/namespaces/default/serviceaccounts",
             {"metadata": {"name": "default"}})  # there already, or made now
    r = send(api, "POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
             sent("token"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"]["token"] and body["spec"]["audiences"] == ["a1"]
    assert body["spec"]["expirationSeconds"] == 600


def test_drains_delete_with_protobuf_options_deletes_the_pod(api):
    assert api.post("/api/v1/namespaces/default/pods", pod("prun2")).status_code == 201
    r = send(api, "DELETE", "/api/v1/namespaces/default/pods/prun2", sent("deleteoptions"))
    assert r.status_code == 200, r.text
    left = api.get("/api/v1/namespaces/default/pods/prun2")
    assert left.status_code == 404 or left.json["metadata"]["deletionGracePeriodSeconds"] == 1


def test_a_kind_it_cannot_decode_is_415_naming_it(api):
    # the namespace body, its kind renamed: same length, so the bytes stay well-formed
    body = sent("namespace").replace(b"\x09Namespace", b"\x09Namespacx")
    r = send(api, "POST", "/api/v1/namespaces", body)
    assert r.status_code == 415, r.text
    assert "Namespacx" in r.json()["message"]
    assert api.get("/api/v1/namespaces/pns").status_code == 404


def test_json_labelled_protobuf_is_400(api):
    r = send(api, "POST", "/api/v1/namespaces/default/configmaps",
             json.dumps({"metadata": {"name": "nope"}}).encode())
    assert r.status_code == 400, r.text
    assert "not valid protobuf" in r.json()["message"]
    assert api.get("/api/v1/namespaces/default/configmaps/nope").status_code == 404


def _varint(v: int) -> bytes:
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    return bytes([*out, v])


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_raw_json_inside_is_held_to_the_json_depth_limit(api):
    deep = b"[" * 150 + b"]" * 150
    entry = _field(7, _field(1, deep))  # ManagedFieldsEntry.fieldsV1 = 7, FieldsV1.raw = 1
    meta = _field(1, b"deep") + _field(17, entry)  # ObjectMeta.name = 1, .managedFields = 17
    type_meta = _field(1, b"v1") + _field(2, b"ConfigMap")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, _field(1, meta))
    r = send(api, "POST", "/api/v1/namespaces/default/configmaps", body)
    assert r.status_code == 400, r.text
    assert "nested more than" in r.json()["message"]
