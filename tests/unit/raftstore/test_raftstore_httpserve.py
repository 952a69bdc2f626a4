"""The standalone server's HTTP layer on a loopback socket: keep-alive, the
request parsing it does itself, and its refusals."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from raftstore import MemoryStore
from raftstore.httpserve import Server
from raftstore.server import create_app


@pytest.fixture
def server():
    store = MemoryStore()
    srv = Server("127.0.0.1", 0, create_app(store))
    t = threading.Thread(target=srv.serve, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.stop()
    t.join(5)
    store.close()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_keep_alive_serves_many_requests_on_one_connection(server):
    c = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    for n in range(3):
        c.request("POST", "/v1/put", json.dumps({"key": f"/k{n}", "value": {"n": n}}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["kv"]["key"] == f"/k{n}"
    c.request("POST", "/v1/range", json.dumps({"prefix": "/k"}))
    assert [kv["key"] for kv in json.loads(c.getresponse().read())["kvs"]] == ["/k0", "/k1",
                                                                                "/k2"]
    c.close()


def test_expect_100_continue_and_connection_close(server):
    body = json.dumps({"key": "/e", "value": {}}).encode()
    out = raw(server, b"POST /v1/put HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert b'"key": "/e"' in out or b'"key":"/e"' in out  # and the server closed (recv ended)


@pytest.mark.parametrize("request_bytes,status", [
    (b"NONSENSE\r\n\r\n", b"400"),
    (b"GET /v1/status HTTP/2.0\r\n\r\n", b"400"),
    (b"GET /v1/status HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
    (b"GET /v1/status HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
])
def test_malformed_requests_are_refused_with_a_status(server, request_bytes, status):
    out = raw(server, request_bytes)
    assert out.split(b" ", 2)[1] == status, out[:200]


def test_a_watch_streams_chunks(server):
    c = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    c.request("POST", "/v1/put", json.dumps({"key": "/w", "value": {"v": 1}}))
    c.getresponse().read()
    w = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    w.request("GET", "/v1/watch?prefix=/w&start_revision=1")
    r = w.getresponse()
    assert r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
    event = json.loads(r.readline())
    assert event["type"] == "PUT" and event["kv"]["key"] == "/w"
    w.close()
    c.close()
