"""The client's threads share its kept-alive connections (a node agent's pod
workers would otherwise open a TCP and TLS connection each)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coxapi.client import Client


@pytest.fixture
def server() -> Iterator[tuple[str, set]]:
    """A keep-alive HTTP server on loopback recording each connection's client port."""
    peers: set = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            peers.add(self.client_address)
            body = json.dumps({"kind": "Namespace", "metadata": {"name": "x"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", peers
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_threads_one_after_another_reuse_one_connection(server):
    url, peers = server
    c = Client([url], "t")
    for _ in range(5):  # each request from a thread that never spoke before
        t = threading.Thread(target=lambda: c.get("Namespace", "x", namespace=None))
        t.start()
        t.join(10)
    assert len(peers) == 1
    c.close()
