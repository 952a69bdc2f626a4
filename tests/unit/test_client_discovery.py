"""A client that refreshes its master list from the cluster (coxapi/discovery.py)
keeps reaching it after the masters it was started with are gone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coxapi import discovery, errors
from coxapi.client import Client


def endpoints(masters: dict[str, str]) -> dict:
    return {"kind": "Endpoints", "metadata": {"name": "kubernetes", "namespace": "default",
            "annotations": {discovery.MASTERS_ANNOTATION: json.dumps(masters)}}}


class FakeMaster:
    """Serves the ``kubernetes`` Endpoints it is given and a ConfigMap naming itself."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.endpoints: dict = {}
        self.leaderless = False  # answer the record's linearizable read 503, as without a leader
        master = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                code, body = 200, {"kind": "ConfigMap", "metadata": {"name": master.name}}
                if self.path == discovery.ENDPOINTS_PATH:
                    code, body = (503, {"kind": "Status", "code": 503, "reason": "ServiceUnavailable",
                                        "message": "no Raft leader"}) if master.leaderless \
                        else (200, master.endpoints)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.address}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def masters() -> Iterator[list[FakeMaster]]:
    ms = [FakeMaster(f"m{i}") for i in (1, 2, 3)]
    record = endpoints({f"127.0.0.1:700{i}": m.address for i, m in enumerate(ms, 1)})
    for m in ms:
        m.endpoints = record
    yield ms
    for m in ms[1:]:
        m.stop()


def _who(client: Client) -> str:
    return client.request("GET", "/api/v1/namespaces/default/configmaps/x")["metadata"]["name"]


def test_a_client_started_with_one_master_reaches_another_once_it_is_gone(masters):
    m1, m2, m3 = masters
    client = Client([m1.url], discover_interval=60)
    try:
        assert _who(client) == "m1"
        assert client.servers == [*sorted([m1.url, m2.url, m3.url])]
        m1.stop()
        assert _who(client) in {"m2", "m3"}
    finally:
        client.close()


def test_without_discovery_the_configured_list_is_all_there_is(masters):
    m1 = masters[0]
    client = Client([m1.url])
    try:
        assert _who(client) == "m1"
        assert client.servers == [m1.url]
        m1.stop()
        with pytest.raises(errors.ClusterUnreachable):
            _who(client)
    finally:
        client.close()


def _knowing_m1_and_m2(masters: list[FakeMaster]) -> Client:
    """A client configured with m1 alone that has learnt the cluster's record: m1 and m2."""
    m1, m2, _ = masters
    m1.endpoints = m2.endpoints = endpoints({"127.0.0.1:7001": m1.address,
                                             "127.0.0.1:7002": m2.address})
    client = Client([m1.url], discover_interval=3600)
    _who(client)
    return client


def test_a_failover_makes_the_next_request_look_again(masters):
    m1, m2, m3 = masters
    client = _knowing_m1_and_m2(masters)
    try:
        assert set(client.servers) == {m1.url, m2.url}
        m2.endpoints = endpoints({"127.0.0.1:7002": m2.address, "127.0.0.1:7003": m3.address})
        m1.stop()
        assert _who(client) == "m2"  # moved on; the list is refreshed before the next request
        assert _who(client) in {"m2", "m3"}
        assert client.servers[:2] == sorted([m2.url, m3.url])
        assert client.servers[2:] == [m1.url]  # the configured one, last
    finally:
        client.close()


def test_master_urls_read_the_annotation_only():
    ep = endpoints({"10.0.0.1:7001": "10.0.0.1:6443", "10.0.0.2:7001": "10.0.0.2:6443",
                    "[::1]:7001": "::1:6443"})
    assert discovery.master_urls(ep, "https") == [
        "https://10.0.0.1:6443", "https://10.0.0.2:6443", "https://[::1]:6443"]
    assert discovery.master_urls({"metadata": {"annotations": {
        discovery.MASTERS_ANNOTATION: "not json"}}}, "https") == []
    assert discovery.master_urls({"subsets": []}, "https") == []
    assert discovery.master_urls(None, "https") == []
    assert discovery.merged(["b", "c"], ["a", "b"]) == ["b", "c", "a"]


def test_a_refresh_refused_for_want_of_a_leader_is_tried_again_before_the_next_request(masters):
    """The failover's refresh met no leader, and the request after it went through
    (a leader was elected in between): the next request refreshes, not one an
    interval later."""
    m1, m2, m3 = masters
    client = _knowing_m1_and_m2(masters)
    try:
        m1.stop()
        assert _who(client) == "m2"  # a failover: the next request refreshes first
        m2.endpoints = endpoints({"127.0.0.1:7002": m2.address, "127.0.0.1:7003": m3.address})
        m2.leaderless = True
        assert _who(client) == "m2"  # the refresh is refused; the request is served
        assert set(client.servers) == {m1.url, m2.url}
        m2.leaderless = False
        assert _who(client) == "m2"
        assert client.servers == [*sorted([m2.url, m3.url]), m1.url]
    finally:
        client.close()
