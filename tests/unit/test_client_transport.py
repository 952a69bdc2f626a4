"""The client's transport (coxapi/transport.py) against a server on loopback
that writes its answers byte by byte as a test tells it: lines split across
chunks, a stream cut off or gone silent, the query string, a proxy."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from coxapi.client import Client
from coxapi.errors import ConnectionBroken

Answer = Callable[[socket.socket, bytes], None]


@contextlib.contextmanager
def raw_server(answer: Answer) -> Iterator[tuple[str, list[bytes]]]:
    """A one-connection-at-a-time HTTP server: ``answer(conn, request_head)``
    writes the reply itself. Yields its URL and the request heads it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        break
                    head += data
                heads.append(head)
                with contextlib.suppress(OSError):
                    answer(conn, head)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", heads
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone would not)
        listener.close()
        t.join(5)


def chunked(conn: socket.socket, pieces: list[bytes], end: bool = True) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    for p in pieces:
        conn.sendall(b"%x\r\n%s\r\n" % (len(p), p))
    if end:
        conn.sendall(b"0\r\n\r\n")


def event(kind: str, name: str, rv: str) -> bytes:
    return json.dumps({"type": kind, "object": {
        "kind": "ConfigMap", "metadata": {"name": name, "resourceVersion": rv}}}).encode()


def test_watch_events_split_across_chunks_arrive_whole():
    lines = event("ADDED", "a", "1") + b"\n" + event("MODIFIED", "a", "2") + b"\n"
    pieces = [lines[:7], lines[7:60], lines[60:61], lines[61:]]
    with raw_server(lambda conn, _h: chunked(conn, pieces)) as (url, _):
        got = [(t, o["metadata"]["resourceVersion"])
               for t, o in Client(url).watch("ConfigMap", "default")]
    assert got == [("ADDED", "1"), ("MODIFIED", "2")]


def test_log_lines_lose_their_line_ends_and_the_last_needs_none():
    pieces = [b"first\r\nsec", b"ond\n\nthird, unfinished"]
    with raw_server(lambda conn, _h: chunked(conn, pieces)) as (url, _):
        got = list(Client(url).stream_text("/api/v1/namespaces/default/pods/p/log"))
    assert got == ["first", "second", "", "third, unfinished"]


def test_a_stream_cut_off_midway_raises_connection_broken_after_what_came():
    pieces = [event("ADDED", "a", "1") + b"\n", event("ADDED", "b", "2")[:10]]
    with raw_server(lambda conn, _h: chunked(conn, pieces, end=False)) as (url, _):
        seen = []
        with pytest.raises(ConnectionBroken, match="the stream broke"):
            for _t, obj in Client(url).watch("ConfigMap", "default"):
                seen.append(obj["metadata"]["name"])
    assert seen == ["a"]


def test_a_stream_silent_past_its_read_timeout_raises_connection_broken(monkeypatch):
    monkeypatch.setattr("coxapi.client.WATCH_SILENCE", 0.3)
    release = threading.Event()

    def silent(conn: socket.socket, _h: bytes) -> None:
        chunked(conn, [event("ADDED", "a", "1") + b"\n"], end=False)
        release.wait(10)

    with raw_server(silent) as (url, _):
        seen = []
        try:
            with pytest.raises(ConnectionBroken):
                for _t, obj in Client(url).watch("ConfigMap", "default"):
                    seen.append(obj["metadata"]["name"])
        finally:
            release.set()
    assert seen == ["a"]


def test_the_query_string_carries_every_parameter_encoded():
    def answer(conn: socket.socket, _h: bytes) -> None:
        body = b'{"kind": "ConfigMapList", "items": []}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    with raw_server(answer) as (url, heads):
        out = Client(url, token="secret").list("ConfigMap", "default",
                                               label_selector="app in (a,b),tier!=db", limit=5)
    assert out["kind"] == "ConfigMapList"
    request_line, *header_lines = heads[0].decode().split("\r\n")
    assert request_line == ("GET /api/v1/namespaces/default/configmaps?labelSelector=app+in+"
                            "%28a%2Cb%29%2Ctier%21%3Ddb&limit=5 HTTP/1.1")
    assert "Authorization: Bearer secret" in header_lines


def test_a_server_the_environment_proxies_is_reached_through_the_proxy(monkeypatch):
    """The proxy here is a server on loopback that answers itself: what it
    was asked (the absolute URL an HTTP proxy is sent) shows it was used."""
    def answer(conn: socket.socket, _h: bytes) -> None:
        body = b'{"kind": "Namespace", "metadata": {"name": "x"}}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    with raw_server(answer) as (proxy, heads):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "")
        got = Client("http://cluster.invalid:6443").get("Namespace", "x", None)
    assert got["metadata"]["name"] == "x"
    assert heads[0].startswith(b"GET http://cluster.invalid:6443/api/v1/namespaces/x HTTP/1.1")
