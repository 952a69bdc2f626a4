"""``pods/NAME/portforward`` as kubectl 1.30+ speaks it (SPDY/3.1 inside a
WebSocket, master.api.pftunnel), in one process: the master's real server, a
real agent server on a FakeRuntime, a real HTTP server as the pod's port."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from coxapi import pfstreams, spdy
from tests.spdyclient import Client, Tunnel

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api
from .test_api_podexec import Web, agent, api, running  # noqa: F401 - fixtures

PATH = "/api/v1/namespaces/default/pods/p/portforward"


@contextlib.contextmanager
def tunnel(api: Api, token: str = ADMIN_TOKEN, status: int = 101) -> Iterator[Tunnel]:  # noqa: F811
    t = Tunnel(api.url + PATH, pfstreams.TUNNEL_PROTOCOL, token, api.ca_file)
    try:
        assert t.status == status
        yield t
    finally:
        t.close()


class Peer:
    """kubectl's side of the session."""

    def __init__(self, ws: Tunnel) -> None:
        self.ws, self.spdy = ws, Client()
        self.frames: list[tuple[str, int, object]] = []

    def open(self, request_id: str, port: int) -> tuple[int, int]:
        """An error stream (closed for sending at once, as kubectl does) and a data stream."""
        headers = {"streamType": ["error"], "port": [str(port)], "requestID": [request_id]}
        err, f1 = self.spdy.syn_stream(headers)
        data, f2 = self.spdy.syn_stream({**headers, "streamType": ["data"]})
        self.ws.send(f1 + Client.data(err, b"", fin=True) + f2)
        return err, data

    def read_until(self, done) -> None:
        while not done():
            self.frames += self.spdy.read(self.ws.recv())

    def received(self, stream: int) -> tuple[bytes, bool]:
        """What a stream carried, and whether it has ended."""
        frames = [d for kind, sid, d in self.frames if kind == "data" and sid == stream]
        return b"".join(d for d, _ in frames), any(fin for _, fin in frames)  # type: ignore[misc]

    def ended(self, *streams: int) -> bool:
        return all(self.received(s)[1] for s in streams)


def test_concurrent_connections_each_reach_the_pods_port(api, agent):  # noqa: F811
    web = Web()
    running(api)
    with tunnel(api) as ws:
        assert ws.subprotocol == pfstreams.TUNNEL_PROTOCOL
        peer = Peer(ws)
        streams = [peer.open(str(i), web.port) for i in range(5)]
        for i, (_, data) in reversed(list(enumerate(streams))):
            ws.send(Client.data(data, f"GET /c{i} HTTP/1.0\r\n\r\n".encode(), fin=True))
        peer.read_until(lambda: all(peer.ended(e, d) for e, d in streams))
        for i, (err, data) in enumerate(streams):
            body, _ = peer.received(data)
            assert body.startswith(b"HTTP/1.0 200") and body.endswith(f"hello from /c{i}".encode())
            assert peer.received(err) == (b"", True)
        replies = {sid for kind, sid, _ in peer.frames if kind == "reply"}
        assert replies == {s for pair in streams for s in pair}
        ws.send(Client.ping(1))
        peer.read_until(lambda: ("ping", 1, None) in peer.frames)


def test_a_closed_port_is_reported_on_the_error_stream(api, agent):  # noqa: F811
    web = Web()
    running(api)
    web.server.shutdown()
    web.server.server_close()
    with tunnel(api) as ws:
        peer = Peer(ws)
        err, data = peer.open("0", web.port)
        peer.read_until(lambda: peer.ended(err, data))
        message, _ = peer.received(err)
        assert message.startswith(f"error forwarding port {web.port} to pod p".encode())
        assert message.endswith(b"connect: connection refused"), message
        assert peer.received(data) == (b"", True)


def test_bad_streams_are_reset_and_the_session_goes_on(api, agent):  # noqa: F811
    web = Web()
    running(api)
    with tunnel(api) as ws:
        peer = Peer(ws)
        bad, frame = peer.spdy.syn_stream({"streamType": ["data"], "port": ["http"]})
        ws.send(frame)
        peer.read_until(lambda: ("rst", bad, spdy.PROTOCOL_ERROR) in peer.frames)
        err, data = peer.open("1", web.port)
        ws.send(Client.data(data, b"GET /ok HTTP/1.0\r\n\r\n", fin=True))
        peer.read_until(lambda: peer.ended(err, data))
        assert peer.received(data)[0].endswith(b"hello from /ok")


def test_the_tunnel_is_refused_without_a_token_or_with_a_nodes(api, agent):  # noqa: F811
    running(api)
    with tunnel(api, token="", status=401):
        pass
    with tunnel(api, token=NODE_TOKEN, status=403):
        pass


def test_the_clients_end_of_sending_reaches_the_pod(api, agent):  # noqa: F811
    """A pod that answers only once its input ended (as ``sort`` would) gets the
    end: the agent half-closes its connection when the data stream ends."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got = b""
            while chunk := conn.recv(4096):
                got += chunk
            conn.sendall(got[::-1])

    threading.Thread(target=serve, daemon=True).start()
    running(api)
    with listener, tunnel(api) as ws:
        peer = Peer(ws)
        err, data = peer.open("0", listener.getsockname()[1])
        ws.send(Client.data(data, b"abc") + Client.data(data, b"def", fin=True))
        peer.read_until(lambda: peer.ended(err, data))
        assert peer.received(data) == (b"fedcba", True)
