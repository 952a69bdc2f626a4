"""No client can stall a master (issue 9, item 5), through the master's real
server on loopback: header and body read timeouts, in-flight limits answered
429 with Retry-After, node heartbeats and health served beyond them, and
keepalive on every accepted connection."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import ExitStack

from master import connguard
from master.asgi import ApiApp
from master.server import ApiServer
from tests.support import local_pki, tls_connect, wait_until

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def _connect(url: str) -> socket.socket:
    return tls_connect(url, local_pki().ca_file)


def _half_sent_body(url: str, token: str | None = ADMIN_TOKEN, path: str = CONFIGMAPS,
                    headers: str = "") -> socket.socket:
    """A POST whose headers are complete and whose body never finishes."""
    s = _connect(url)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}{headers}"
              "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode())
    return s


def _answer(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(65536)
        if not got:
            break
        data += got
    return data


def _closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.05)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True


def _app(api: Api) -> ApiApp:
    assert api.server is not None
    return api.server.app


def _open(stack: ExitStack, socks: Iterator[socket.socket]) -> list[socket.socket]:
    return [stack.enter_context(s) for s in socks]


def test_half_sent_headers_are_cut_after_the_header_timeout():
    api = Api()
    server = ApiServer(ApiApp(api.app, threads=4), "127.0.0.1", 0, tls=local_pki().tls,
                       header_timeout=0.3)
    server.start()
    try:
        host, port = server.address
        url = f"https://{host}:{port}"
        with _connect(url) as silent, _connect(url) as slow:
            slow.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthor")
            wait_until(lambda: _closed_by_server(silent) and _closed_by_server(slow), 10,
                       what="the server to close connections whose headers never came")
        # a request whose headers arrive in time is served as ever
        assert api.session().get(url + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
        api.close()


def test_a_body_that_never_arrives_is_408_after_the_body_timeout():
    api = Api(body_timeout_seconds=0.3)
    try:
        with _half_sent_body(api.url) as s:
            assert _answer(s).startswith(b"HTTP/1.1 408")
        # the slot is given back just after the answer is written
        wait_until(lambda: _app(api).general.in_flight == 0, 10, what="the slot to be released")
    finally:
        api.close()


def test_a_caller_without_a_token_is_answered_before_its_body_is_read():
    api = Api()
    try:
        with _half_sent_body(api.url, token=None) as s:
            assert _answer(s).startswith(b"HTTP/1.1 401")
        with _half_sent_body(api.url, token="not-a-token") as s:
            assert _answer(s).startswith(b"HTTP/1.1 401")
    finally:
        api.close()


def test_one_client_past_its_limit_is_429_with_retry_after_and_others_are_served():
    api = Api(max_requests_inflight_per_client=3)
    try:
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with ExitStack() as stack:
            _open(stack, (_half_sent_body(api.url) for _ in range(3)))
            wait_until(lambda: _app(api).general.in_flight == 3, 10, what="3 requests in flight")
            r = api.session().get(api.url + CONFIGMAPS, headers=auth, timeout=10)
            assert r.status_code == 429, r.text
            assert r.headers["Retry-After"] == "1"
            assert r.json()["reason"] == "TooManyRequests"
            assert r.json()["details"]["retryAfterSeconds"] == 1
            # another client is not held up by this one
            r = api.session().get(api.url + "/api/v1/nodes", timeout=10,
                             headers={"Authorization": f"Bearer {NODE_TOKEN}"})
            assert r.status_code == 200
        wait_until(lambda: api.session().get(api.url + CONFIGMAPS, headers=auth,
                                        timeout=10).status_code == 200, 10,
                   what="the client served again once its requests ended")
    finally:
        api.close()


def _lease(name: str) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40}}


def test_node_heartbeats_and_health_are_served_with_every_general_slot_taken():
    api = Api(max_requests_inflight=4, max_requests_inflight_per_client=4)
    node = {"Authorization": f"Bearer {NODE_TOKEN}"}
    try:
        with ExitStack() as stack:
            _open(stack, (_half_sent_body(api.url) for _ in range(4)))
            wait_until(lambda: _app(api).general.in_flight == 4, 10, what="4 requests in flight")
            # the node's other requests wait like everyone's
            r = api.session().get(api.url + "/api/v1/namespaces/default/pods", headers=node, timeout=10)
            assert r.status_code == 429
            leases = api.url + "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
            r = api.session().post(leases, json=_lease("n1"), headers=node, timeout=10)
            assert r.status_code == 201, r.text
            r = api.session().put(leases + "/n1", json=r.json(), headers=node, timeout=10)
            assert r.status_code == 200, r.text
            for path in ("/healthz", "/livez", "/readyz"):
                assert api.session().get(api.url + path, timeout=10).status_code == 200
    finally:
        api.close()


def test_heartbeats_are_only_a_nodes_own_lease_and_node():
    from master.api import paths
    from master.auth import User
    from master.inflight import is_heartbeat

    def target(path: str) -> paths.Target:
        split = paths.split(path)
        assert split is not None
        return paths.parse(*split)

    n1 = User("system:node:n1", "n1", ("system:nodes",))
    admin = User("admin", "admin", ("system:masters",))
    own_lease = target("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1")
    assert is_heartbeat(n1, "PUT", own_lease)
    assert is_heartbeat(n1, "PATCH", target("/api/v1/nodes/n1/status"))
    assert is_heartbeat(n1, "POST", target("/api/v1/nodes"))
    assert not is_heartbeat(admin, "PUT", own_lease)
    assert not is_heartbeat(n1, "PUT", target(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2"))
    assert not is_heartbeat(n1, "PUT", target("/api/v1/nodes/n2/status"))
    assert not is_heartbeat(n1, "DELETE", own_lease)
    assert not is_heartbeat(n1, "GET", target("/api/v1/nodes"))
    assert not is_heartbeat(n1, "GET", target("/api/v1/namespaces/default/pods"))


def test_accepted_connections_have_keepalive():
    with socket.socket() as listener:
        connguard.set_keepalive(listener, idle=7, interval=3, count=2)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 2


def test_the_masters_listening_socket_has_keepalive_and_a_deep_backlog():
    api = Api()
    try:
        assert api.url  # starts the server
        assert api.server is not None and api.server._sock is not None
        assert api.server._sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert api.server._config.backlog >= 1024
    finally:
        api.close()


def _half_sent_open_post(url: str, forwarded_for: str) -> socket.socket:
    """A POST to an open path, without a token, claiming another client address."""
    return _half_sent_body(url, token=None, path="/version",
                           headers=f"X-Forwarded-For: {forwarded_for}\r\n")


def test_a_caller_cannot_name_its_own_address_to_escape_its_limit():
    # The API is served directly, not behind a proxy: X-Forwarded-For from a
    # loopback caller (which uvicorn trusts by default) must not make it look
    # like many clients, each with a budget of its own.
    api = Api(max_requests_inflight_per_client=2)
    try:
        with ExitStack() as stack:
            _open(stack, (_half_sent_open_post(api.url, f"10.0.0.{i}") for i in (1, 2)))
            wait_until(lambda: _app(api).general.in_flight == 2, 10, what="2 requests in flight")
            with _half_sent_open_post(api.url, "10.0.0.3") as s:
                assert _answer(s).startswith(b"HTTP/1.1 429")
    finally:
        api.close()
