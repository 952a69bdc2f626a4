"""The master→agent leg over TLS: a master serving HTTPS reaches node agents
(logs, exec, port-forward) only over TLS, verifying the agent's certificate
against the cluster CA; an agent it cannot verify, or one in clear, is
unreachable rather than spoken to unverified."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from coxapi import errors, pki
from tests.support import local_pki

from .api_harness import Api, pod
from .test_api_pftunnel import Peer, tunnel
from .test_api_podexec import Agent, Web, running
from .test_api_podexec import run as exec_run
from .test_api_podlogs import POD, add_node, get_log


@pytest.fixture
def tls_api() -> Iterator[Api]:
    a = Api(agent_tls=ssl.create_default_context(cafile=local_pki().ca_file))
    yield a
    a.close()


@contextlib.contextmanager
def agent_on(api: Api, tls: tuple[str, str] | None) -> Iterator[Agent]:
    a = Agent(api, tls=tls)
    try:
        add_node(api, a.port)
        api.post(POD, pod("p", node="n1"))
        yield a
    finally:
        a.close()


def test_exec_logs_and_port_forward_reach_a_verified_agent(tls_api):
    with agent_on(tls_api, local_pki().tls):
        assert exec_run(tls_api, ["echo", "hi"])[0] == 0
        web = Web()
        running(tls_api)
        with tunnel(tls_api) as ws:
            peer = Peer(ws)
            err, data = peer.open("0", web.port)
            ws.send(peer.spdy.data(data, b"GET /tls HTTP/1.0\r\n\r\n", fin=True))
            peer.read_until(lambda: peer.ended(err, data))
            assert peer.received(data)[0].endswith(b"hello from /tls")
        logs = get_log(tls_api, "p")
        assert logs.status_code == 200, logs.text


def _other_ca(tmp_path: Path) -> tuple[str, str]:
    d = pki.PkiDir(tmp_path / "other")
    pki.ensure_ca(d)
    pki.ensure_serving(d, "impostor", ["127.0.0.1"])
    return str(d.cert("impostor")), str(d.key("impostor"))


@pytest.mark.parametrize("kind", ["another CA", "plain HTTP"])
def test_an_agent_that_cannot_be_verified_is_not_spoken_to(tls_api, tmp_path, kind):
    tls = _other_ca(tmp_path) if kind == "another CA" else None
    with agent_on(tls_api, tls):
        with pytest.raises(errors.Unavailable, match='node agent of node "n1" at https://'):
            exec_run(tls_api, ["echo", "hi"])
        logs = get_log(tls_api, "p")
        assert logs.status_code == 503 and "https://127.0.0.1" in logs.json()["message"]
        running(tls_api)
        with tunnel(tls_api) as ws:
            peer = Peer(ws)
            err, data = peer.open("0", 80)
            peer.read_until(lambda: peer.ended(err, data))
            assert peer.received(err)[0].startswith(b"error forwarding port 80 to pod p: ")
            assert b"cannot reach the node agent" in peer.received(err)[0]
