"""``pods/NAME/exec`` end to end in one process: a client speaking kubectl's
WebSocket protocol, the master's real server (master.asgi), and a real agent
server (node.agentstreams over node.logserver.LogServer) on a FakeRuntime."""

from __future__ import annotations

import http.server
import io
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from coxapi import errors, execclient, jwt
from coxapi import streamproto as sp
from coxapi.client import Client
from master.admission.rbacdefaults import ensure_default_rbac
from master.auth import TokenEntry, User
from node import podspec
from node.agentstreams import AgentApp
from node.logserver import LogServer, MasterTokens, create_app
from node.runtime import ContainerInfo
from node.testing import FakeRuntime
from tests.support import wait_until

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api, pod
from .test_api_podlogs import POD, add_node

RBAC = "/apis/rbac.authorization.k8s.io/v1"


class Agent:
    def __init__(self, api: Api, tls: tuple[str, str] | None = None) -> None:
        self.rt = rt = FakeRuntime()
        labels = {podspec.LABEL_POD_NAMESPACE: "default", podspec.LABEL_POD_NAME: "p",
                  podspec.LABEL_CONTAINER_NAME: "app", podspec.LABEL_CONTAINER_TYPE: "app"}
        rt.containers["c1"] = ContainerInfo("c1", "c1", labels, "running")
        tokens = MasterTokens("n1", lambda: jwt.public_keys(api.get("/openid/v1/jwks").json))
        flask = create_app(rt, lambda: rt.list_containers({}), tokens)
        self.server = LogServer(AgentApp(flask, rt, lambda: rt.list_containers({}), tokens),
                                "127.0.0.1", 0, flask, tls=tls)
        self.thread = threading.Thread(target=self.server.serve, args=(threading.Event(),),
                                       daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.server.started, 10, what="the agent server started")
        self.port = self.server.port

    def close(self) -> None:
        self.server.stop()
        self.thread.join(10)


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


@pytest.fixture
def agent(api: Api) -> Iterator[Agent]:
    a = Agent(api)
    add_node(api, a.port)
    api.post(POD, pod("p", node="n1"))
    yield a
    a.close()


def client(api: Api, token: str = ADMIN_TOKEN) -> Client:
    return Client(api.url, token, timeout=30, ca_file=api.ca_file)  # a loaded machine is slow


def run(api: Api, command: list[str], stdin: list[bytes] | None = None, tty: bool = False,
        token: str = ADMIN_TOKEN) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    path = execclient.exec_path("default", "p", command, container=None,
                                stdin=stdin is not None, tty=tty)
    conn = execclient.open_stream(client(api, token), path)
    code = execclient.run(conn, stdin, out, err)
    return code, out.getvalue(), err.getvalue()


def test_exec_relays_output_and_the_exit_code(api, agent):
    assert run(api, ["echo", "hi"]) == (0, b"hi\n", b"")
    assert run(api, ["sh", "-c", "exit 3"]) == (3, b"", b"exiting\n")
    assert run(api, ["nope"])[0] == 127
    assert agent.rt.execs[0] == ("c1", ["echo", "hi"])


def test_stdin_is_piped_through_and_closed(api, agent):
    chunks = [b"x" * 100_000, b"second\n"]
    assert run(api, ["cat"], stdin=chunks) == (0, b"".join(chunks), b"")


def test_large_output_arrives_intact(api, agent):
    code, out, _ = run(api, ["yes", str(10 << 20)])
    assert code == 0 and out == b"y" * (10 << 20)


def test_tty_output_is_one_stream(api, agent):
    assert run(api, ["sh", "-c", "exit 4"], tty=True) == (4, b"exiting\n", b"")


def test_v4_clients_are_served_too(api, agent):
    url = "wss" + api.url.removeprefix("https") + execclient.exec_path(
        "default", "p", ["echo", "v4"], container=None, stdin=False)
    ctx = ssl.create_default_context(cafile=api.ca_file)
    with websockets.sync.client.connect(url, subprotocols=[sp.V4],  # type: ignore[list-item]
                                        additional_headers={"Authorization":
                                                            f"Bearer {ADMIN_TOKEN}"},
                                        ssl=ctx) as ws:
        assert ws.subprotocol == sp.V4
        assert execclient.run(ws, None, out := io.BytesIO(), io.BytesIO()) == 0
    assert out.getvalue() == b"v4\n"


def test_exec_is_refused_without_a_token_or_with_a_nodes(api, agent):
    with pytest.raises(errors.Unauthorized):
        run(api, ["echo"], token="bogus")
    with pytest.raises(errors.Forbidden):
        run(api, ["echo"], token=NODE_TOKEN)
    assert agent.rt.execs == []


def test_bad_requests_are_refused_before_the_agent_is_asked(api, agent):
    with pytest.raises(errors.BadRequest, match="command"):
        run(api, [])
    path = execclient.exec_path("default", "p", ["ls"], container="nope", stdin=False)
    with pytest.raises(errors.BadRequest, match="not valid"):
        execclient.open_stream(client(api), path)
    with pytest.raises(errors.NotFound):
        execclient.open_stream(client(api), path.replace("/pods/p/", "/pods/q/"))
    assert agent.rt.execs == []


def test_the_agent_refuses_anything_a_master_did_not_sign(api, agent):
    url = f"ws://127.0.0.1:{agent.port}/exec/default/p/app?command=ls&stdout=true"
    for token in (ADMIN_TOKEN, NODE_TOKEN, ""):
        with pytest.raises(InvalidStatus) as e:
            websockets.sync.client.connect(url, subprotocols=[sp.V5],  # type: ignore[list-item]
                                           additional_headers={"Authorization":
                                                               f"Bearer {token}"})
        assert e.value.response.status_code == 401
    assert agent.rt.execs == []


def test_plain_http_exec_is_told_to_upgrade(api, agent):
    r = requests.post(f"{api.url}{POD}/p/exec?command=ls&stdout=true", timeout=10,
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, verify=api.ca_file)
    assert r.status_code == 400 and "Upgrade request required" in r.json()["message"]
    r = requests.post(f"{api.url}{POD}/p/exec?command=ls&stdout=true", timeout=10,
                      verify=api.ca_file)
    assert r.status_code == 401


def test_edit_may_exec_and_view_may_not():
    a = Api(tokens=(TokenEntry("viewer", User("viewer", "u-v")),
                    TokenEntry("editor", User("editor", "u-e"))))
    ensure_default_rbac(a.objects)
    agent = Agent(a)
    try:
        add_node(a, agent.port)
        a.post(POD, pod("p", node="n1"))
        for user, role in (("viewer", "view"), ("editor", "edit")):
            binding = {"metadata": {"name": user}, "subjects": [{"kind": "User", "name": user}],
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                   "kind": "ClusterRole", "name": role}}
            assert a.post(f"{RBAC}/namespaces/default/rolebindings", binding).status_code == 201
        with pytest.raises(errors.Forbidden, match="pods/exec"):
            run(a, ["echo", "x"], token="viewer")
        assert run(a, ["echo", "x"], token="editor") == (0, b"x\n", b"")
    finally:
        agent.close()
        a.close()


class Web:
    """A pod's HTTP port: a plain server on loopback (the pod's IP in these tests)."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                body = f"hello from {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def running(api: Api) -> None:
    p = api.get(f"{POD}/p").json
    p["status"] = {"phase": "Running", "podIP": "127.0.0.1"}
    assert api.put(f"{POD}/p/status", p).status_code == 200


def forward(api: Api, port: int, request: bytes) -> tuple[bytes, bytes]:
    """(data, errors) a connection to the pod's ``port`` answers ``request`` with."""
    ws = execclient.open_stream(client(api), execclient.forward_path("default", "p", port),
                                sp.PORTFORWARD_PROTOCOLS)
    with ws:
        assert ws.subprotocol == sp.V4
        if request:  # a closed port is answered (and the stream closed) without waiting for data
            ws.send(sp.frame(0, request))
        got: dict[int, bytes] = {0: b"", 1: b""}
        for message in ws:
            assert isinstance(message, bytes)
            channel, data = sp.unframe(message)
            got[channel] += data
    assert got[0][:2] == got[1][:2] == sp.port_prefix(port)
    return got[0][2:], got[1][2:]


def test_port_forward_reaches_the_pods_port(api, agent):
    web = Web()
    running(api)
    data, errs = forward(api, web.port, b"GET /x HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.0 200") and data.endswith(b"hello from /x") and errs == b""
    web.server.shutdown()
    web.server.server_close()  # the port is closed now
    data, errs = forward(api, web.port, b"")
    assert data == b"" and b"failed to connect" in errs


def test_port_forward_is_checked_before_the_agent_is_asked(api, agent):
    with pytest.raises(errors.BadRequest, match="not running"):
        forward(api, 80, b"")
    running(api)
    for bad in ("0", "x", ""):
        path = execclient.forward_path("default", "p", 1).replace("ports=1", f"ports={bad}")
        with pytest.raises(errors.BadRequest, match="^ports:"):
            execclient.open_stream(client(api), path, sp.PORTFORWARD_PROTOCOLS)
    with pytest.raises(errors.Forbidden, match="pods/portforward"):
        execclient.open_stream(client(api, NODE_TOKEN), execclient.forward_path("default", "p",
                                                                                80),
                               sp.PORTFORWARD_PROTOCOLS)


def test_attach_reaches_the_main_process(api, agent):
    path = execclient.exec_path("default", "p", [], container=None, stdin=True).replace(
        "/exec?", "/attach?")
    out = io.BytesIO()
    assert execclient.run(execclient.open_stream(client(api), path), [b"typed\n"], out,
                          io.BytesIO()) == 0
    assert out.getvalue() == b"typed\n"
    with pytest.raises(errors.Forbidden, match="pods/attach"):
        execclient.open_stream(client(api, NODE_TOKEN), path)
