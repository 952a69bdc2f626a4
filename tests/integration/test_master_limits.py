"""No client can stall a master (issue 9, item 5), against real master
processes on loopback: 150 half-sent requests, 150 half-sent bodies and 150
watches whose client never reads leave /healthz answering and a normal write
succeeding; one client past its in-flight limit is answered 429 with
Retry-After."""

from __future__ import annotations

import select
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from coxapi.client import Client
from tests.masters import MasterCluster
from tests.support import tls_connect, wait_until

pytestmark = pytest.mark.integration

PER_CLIENT = 100
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MasterCluster, str]]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    settings = tmp / "settings.yaml"
    settings.write_text(yaml.safe_dump({"api": {"max_requests_inflight_per_client": PER_CLIENT}}))
    mc = MasterCluster.create(tmp, extra=["--config", str(settings)])
    attacker = uuid.uuid4().hex
    with open(tmp / "tokens.csv", "a") as f:  # the masters reload the file when it changes
        f.write(f"{attacker},attacker,attacker,system:masters\n")
    try:
        yield mc, attacker
    finally:
        mc.stop()


def _connect(url: str, ca_file: str) -> socket.socket:
    return tls_connect(url, ca_file)


def _answered(socks: list[socket.socket]) -> list[socket.socket]:
    ready, _, _ = select.select(socks, [], [], 0.2)
    return ready


def test_half_sent_requests_and_dead_watches_do_not_stall_a_master(cluster):
    mc, attacker = cluster
    m = mc.masters[0]
    wait_until(lambda: mc.session().get(m.url + CONFIGMAPS, timeout=5, headers={
        "Authorization": f"Bearer {attacker}"}).status_code == 200, 30,
        what="the masters to load the attacker's token")
    socks: list[socket.socket] = []
    try:
        headers_half = [_connect(m.url, mc.ca_file) for _ in range(150)]
        for s in headers_half:
            s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuth")
        bodies_half = [_connect(m.url, mc.ca_file) for _ in range(150)]
        for s in bodies_half:
            s.sendall((f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {attacker}\r\nContent-Type: application/json\r\n"
                       "Content-Length: 100000\r\n\r\n{").encode())
        watches = []
        for _ in range(150):
            s = _connect(m.url, mc.ca_file)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall((f"GET {CONFIGMAPS}?watch=true HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {mc.token}\r\n\r\n").encode())
            watches.append(s)
        socks = headers_half + bodies_half + watches

        # the attacker's requests past its limit are refused at once, 429 + Retry-After
        refused: dict[int, bytes] = {}

        def past_the_limit() -> bool:
            for s in _answered(bodies_half):
                if s.fileno() in refused:
                    continue
                # readable may mean only a TLS 1.3 session ticket: no answer yet
                s.settimeout(0.05)
                try:
                    answer = s.recv(65536)
                except TimeoutError:
                    continue
                finally:
                    s.settimeout(10)
                refused[s.fileno()] = answer
            return len(refused) >= 150 - PER_CLIENT
        wait_until(past_the_limit, 30, what="50 answers to the attacker's requests")
        assert len(refused) == 150 - PER_CLIENT
        for answer in refused.values():
            assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
            assert b"\r\nretry-after: 1\r\n" in answer.lower()

        # everyone else is served as ever
        for path in ("/healthz", "/readyz", "/livez"):
            assert mc.session().get(m.url + path, timeout=10).status_code == 200
        client = Client([m.url], mc.token, ca_file=mc.ca_file, timeout=10)  # through the besieged master only
        made = client.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "after-the-siege", "namespace": "default"},
                              "data": {"k": "v"}})
        assert made["metadata"]["name"] == "after-the-siege"
        assert client.get("ConfigMap", "after-the-siege", "default")["data"] == {"k": "v"}
    finally:
        for s in socks:
            s.close()
