"""Kubernetes protobuf request bodies (coxapi.protobody) decoded against what
real kubectl 1.32 and 1.33 sent: each fixture in protobuf_bodies/ holds the
bytes kubectl put on the wire and the object it prints for the same command
with ``--dry-run=client -o json`` (its own Go JSON encoding), recorded with
protobuf_bodies/capture.py against a cox cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from coxapi import protobody
from coxapi.protoschema import MESSAGES, ROOTS

FIXTURES = sorted(Path(__file__).with_name("protobuf_bodies").glob("*.json"))


def go_json(value: Any) -> Any:
    """Go's JSON without what carries nothing: ``null`` (a zero time), and the
    ``{}``/``[]`` of a struct or list Go writes even when empty."""
    if isinstance(value, dict):
        out = {k: go_json(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [go_json(v) for v in value]
    return value


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_what_kubectl_sent_decodes_to_what_it_meant(path):
    fixture = json.loads(path.read_text())
    assert protobody.decode(bytes.fromhex(fixture["body"])) == go_json(fixture["json"])


def _fixture(name: str) -> bytes:
    return bytes.fromhex(json.loads(FIXTURES[0].with_name(f"{name}.json").read_text())["body"])


def test_a_pointers_zero_is_kept_and_a_plain_zero_dropped():
    dep = protobody.decode(_fixture("deployment"))
    assert dep["spec"]["replicas"] == 0  # *int32: sent as 0
    assert "generation" not in dep["metadata"]  # int64, omitempty: 0 on the wire
    assert "paused" not in dep["spec"]  # bool, omitempty: false on the wire
    assert dep["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 8080}]


def test_bytes_are_base64_and_an_empty_value_stays():
    secret = protobody.decode(_fixture("secret"))
    assert secret["data"] == {"user": "YWRtaW4=", "empty": ""}


def test_every_message_the_schema_names_is_in_it_and_none_contains_itself():
    refs = {m: set(re.findall(r"m:([\w.]+)", spec)) for m, spec in MESSAGES.items()}
    assert set().union(*refs.values()) | set(ROOTS.values()) <= set(MESSAGES)
    for message in MESSAGES:
        assert protobody.fields(message)  # parses

    def depth(m: str, path: tuple[str, ...] = ()) -> int:
        assert m not in path, f"{' > '.join(path)} > {m}"  # a cycle: a body could nest forever
        return 1 + max((depth(c, (*path, m)) for c in refs[m]), default=0)
    # so a body nests no deeper than this, far below the interpreter's recursion limit
    assert max(depth(m) for m in MESSAGES) < 20


# ---- what it refuses ----------------------------------------------------------------

def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _body(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return protobody.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_an_unknown_field_names_the_message_and_the_number():
    # a ConfigMap (metadata=1, data=2, binaryData=3, immutable=4) with a field 9
    raw = _field(1, _field(1, b"cm")) + _field(9, b"x")
    with pytest.raises(protobody.Unsupported, match=r"core\.v1\.ConfigMap: unknown field "
                                                    r"number 9"):
        protobody.decode(_body("v1", "ConfigMap", raw))


def test_an_unknown_volume_source_is_refused_not_dropped():
    nfs = _field(7, _field(1, b"server"))  # VolumeSource.nfs = 7, which we do not serve
    volume = _field(1, b"v") + _field(2, nfs)
    pod = _field(2, _field(1, volume))  # Pod.spec = 2, PodSpec.volumes = 1
    with pytest.raises(protobody.Unsupported, match=r"core\.v1\.VolumeSource: unknown field "
                                                    r"number 7"):
        protobody.decode(_body("v1", "Pod", pod))


def test_an_object_it_does_not_know_is_unsupported():
    with pytest.raises(protobody.Unsupported, match="kind 'Ingress'"):
        protobody.decode(_body("networking.k8s.io/v1", "Ingress", b""))


@pytest.mark.parametrize("body", [
    b"\x0a\x00",  # no magic
    protobody.MAGIC + b"\x0a\x05\x0a\x02v1",  # truncated
    protobody.MAGIC + b"\x0a\x02\x0a\xff",  # a length past the end
    _body("v1", "ConfigMap", _field(1, _field(1, b"\xff\xfe"))),  # a name that is not UTF-8
    _body("v1", "ConfigMap", _varint(4 << 3 | 2) + b"\x00"),  # immutable, length-delimited
])
def test_malformed_bytes_are_malformed(body):
    with pytest.raises(protobody.Malformed):
        protobody.decode(body)
