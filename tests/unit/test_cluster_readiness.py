"""Waiting for a fresh cluster, against a tiny API on loopback that turns Ready."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localcluster.readiness import NotReady, wait
from tests.support import local_pki


class FakeApi:
    def __init__(self) -> None:
        self.ready: set[str] = set()
        self.auth: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                api.auth.append(self.headers.get("Authorization", ""))
                items = [{"metadata": {"name": n}, "status": {"conditions": [
                    {"type": "Ready", "status": "True"}]}} for n in sorted(api.ready)]
                body = json.dumps({"items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*local_pki().tls)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    a = FakeApi()
    yield a
    a.close()


def test_wait_returns_once_every_node_is_ready_and_says_progress(api):
    said: list[str] = []

    def say(msg: str) -> None:
        said.append(msg)
        api.ready.add("n1" if len(api.ready) == 0 else "n2")  # one more node per report

    # the first server is down: the wait moves on to the next one
    wait(["https://127.0.0.1:9", api.url], "tok", ["n1", "n2"], timeout=10, say=say,
         ca_file=local_pki().ca_file)
    assert said[0] == f"API answers at {api.url}"
    assert said[-1] == "nodes Ready: 2/2"
    assert set(api.auth) == {"Bearer tok"}


def test_wait_gives_up_at_the_deadline_naming_what_it_waited_for(api):
    with pytest.raises(NotReady, match="all nodes to be Ready"):
        wait([api.url], "tok", ["n1"], timeout=1, say=lambda _m: None,
             ca_file=local_pki().ca_file)
    with pytest.raises(NotReady, match="the API to answer"):
        wait(["https://127.0.0.1:9"], "tok", ["n1"], timeout=1, say=lambda _m: None)


def test_wait_does_not_trust_a_master_its_ca_did_not_sign(api):
    with pytest.raises(NotReady, match="SSLError"):
        wait([api.url], "tok", ["n1"], timeout=1, say=lambda _m: None, ca_file=None)


def test_wait_stops_at_once_when_a_process_died(api):
    with pytest.raises(NotReady, match="master m2 exited"):
        wait([api.url], "tok", ["n1"], timeout=30, say=lambda _m: None,
             alive=lambda: "master m2 exited; see m2.log")
