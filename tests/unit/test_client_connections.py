"""The client's threads share its kept-alive connections (a node agent's pod
workers would otherwise open a TCP and TLS connection each), and a master that
did not finish the TLS handshake in time never saw the request: the next one
is tried, even for a write."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coxapi.client import Client
from coxapi.errors import ClusterUnreachable
from tests.support import local_pki


class Handler(BaseHTTPRequestHandler):
    """Keep-alive; records (client address, method, path) of each request in
    ``server.seen``; a GET is answered with a Namespace, a POST with its body."""

    protocol_version = "HTTP/1.1"

    def _answer(self, code: int, obj: dict) -> None:
        self.server.seen.append((self.client_address, self.command, self.path))  # type: ignore[attr-defined]
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(200, {"kind": "Namespace", "metadata": {"name": "x"}})

    def do_POST(self) -> None:  # noqa: N802
        self._answer(201, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list]]:
    """A server on loopback (HTTPS with ``tls``): its URL and what it was asked."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield (f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}",
               httpd.seen)  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[tuple[str, list]]:
    with serving() as served:
        yield served


def test_threads_one_after_another_reuse_one_connection(server):
    url, seen = server
    c = Client([url], "t")
    for _ in range(5):  # each request from a thread that never spoke before
        t = threading.Thread(target=lambda: c.get("Namespace", "x", namespace=None))
        t.start()
        t.join(10)
    assert len({peer for peer, _, _ in seen}) == 1
    c.close()


@pytest.fixture
def tls_server() -> Iterator[tuple[str, str, list]]:
    pki = local_pki()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*pki.tls)
    with serving(ctx) as (url, seen):
        yield url, pki.ca_file, seen


@pytest.fixture
def no_handshake() -> Iterator[str]:
    """A master that accepts connections and never finishes a TLS handshake
    (as one too busy to), and never reads a request."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=16)
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}


def test_a_write_whose_handshake_timed_out_goes_to_the_next_master(tls_server, no_handshake):
    url, ca_file, seen = tls_server
    c = Client([no_handshake, url], "t", ca_file=ca_file, connect_timeout=0.3)
    assert c.create(CM)["metadata"]["name"] == "c"  # not "may or may not have been applied"
    assert [(method, path) for _, method, path in seen] == [
        ("POST", "/api/v1/namespaces/default/configmaps")]
    c.close()


def test_a_write_no_master_shook_hands_for_was_surely_not_applied(no_handshake):
    c = Client([no_handshake], "t", ca_file=local_pki().ca_file, connect_timeout=0.3)
    with pytest.raises(ClusterUnreachable, match="TLS handshake with 127.0.0.1"):
        c.create(CM)
    c.close()
