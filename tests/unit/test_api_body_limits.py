"""Size and media-type limits on request bodies, through the master's server
(issue 9, item 4): 413 over 3 MiB (also chunked, cut while reading), 413 for
an object over the store's 1.5 MiB, 415 for a body that is not JSON,
YAML or protobuf."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import pytest

from raftstore.commands import MAX_VALUE_BYTES
from tests.support import local_pki, tls_connect

from .api_harness import ADMIN_TOKEN, Api

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LIMIT = 3 * 1024 * 1024
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


def _configmap(name: str, size: int) -> dict:
    return {"metadata": {"name": name}, "data": {"k": "x" * size}}


def test_an_object_over_the_store_limit_is_413_not_500(api):
    r = api.session().post(api.url + CONFIGMAPS, json=_configmap("big-object", 2 * 1024 * 1024),
                      headers=AUTH, timeout=30)
    assert r.status_code == 413, r.text
    status = r.json()
    assert status["reason"] == "RequestEntityTooLarge"
    assert "request is too large" in status["message"]
    assert str(MAX_VALUE_BYTES) in status["message"]
    assert api.get(CONFIGMAPS + "/big-object").status_code == 404


def test_an_update_over_the_store_limit_is_413(api):
    assert api.post(CONFIGMAPS, _configmap("grows", 10)).status_code == 201
    r = api.session().put(api.url + CONFIGMAPS + "/grows", json=_configmap("grows", 2 * 1024 * 1024),
                     headers=AUTH, timeout=30)
    assert r.status_code == 413, r.text


def test_a_body_over_3_mib_is_413_naming_the_limit(api):
    r = api.session().post(api.url + CONFIGMAPS, json=_configmap("huge", LIMIT + 10),
                      headers=AUTH, timeout=30)
    assert r.status_code == 413
    assert r.json()["message"] == f"Request entity too large: limit is {LIMIT}"


def _raw_request(url: str, head: str, chunks: Iterator[bytes]) -> tuple[int, str]:
    """Send ``head`` then the chunks until the server answers; the status line
    and whether the server had to read everything are what the test wants."""
    with tls_connect(url, local_pki().ca_file, timeout=30) as s:
        s.sendall(head.encode())
        try:
            for c in chunks:
                s.sendall(c)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the server answered and closed while we were still sending
        data = b""
        while True:  # the server closes after its answer (over TLS the body may come later)
            try:
                got = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not got:
                break
            data += got
    line = data.split(b"\r\n", 1)[0].decode()
    return int(line.split()[1]), data.decode(errors="replace")


def test_a_chunked_body_over_the_limit_is_413_without_reading_it_all(api):
    sent = []

    def chunks() -> Iterator[bytes]:
        piece = b"x" * 65536
        for _ in range(20 * 16):  # 20 MiB
            sent.append(len(piece))
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
        yield b"0\r\n\r\n"

    head = (f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    code, text = _raw_request(api.url, head, chunks())
    assert code == 413, text
    assert f"limit is {LIMIT}" in text


def test_a_declared_length_over_the_limit_is_413_before_the_body(api):
    head = (f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n")
    code, text = _raw_request(api.url, head, iter([b"{"]))
    assert code == 413, text


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/cbor"])
def test_a_body_that_is_not_json_yaml_or_protobuf_is_415(api, content_type):
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    body = json.dumps(_configmap("typed", 1))
    r = api.session().post(api.url + CONFIGMAPS, data=body, headers=headers, timeout=10)
    assert r.status_code == 415, r.text
    status = r.json()
    assert status["reason"] == "UnsupportedMediaType"
    assert "application/json" in status["message"] and "application/yaml" in status["message"]
    assert "application/vnd.kubernetes.protobuf" in status["message"]
    assert api.get(CONFIGMAPS + "/typed").status_code == 404


def test_json_and_yaml_bodies_are_still_taken(api):
    r = api.session().post(api.url + CONFIGMAPS, data="metadata: {name: as-yaml}\n", timeout=10,
                      headers={**AUTH, "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    r = api.session().post(api.url + CONFIGMAPS, data=json.dumps(_configmap("as-json", 1)),
                      timeout=10, headers={**AUTH, "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text


def test_a_body_without_a_content_type_is_read_as_json_as_kubernetes_does(api):
    # The official Python client (v37) sends its creates and replaces so.
    r = api.session().post(api.url + CONFIGMAPS, data=json.dumps(_configmap("untyped", 1)),
                           headers=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    r = api.session().patch(api.url + CONFIGMAPS + "/untyped", data='{"data": {}}',
                            headers=AUTH, timeout=10)
    assert r.status_code == 415, r.text  # a patch must say its type
