"""exec, attach and port-forward on an HTTP/1.1 connection upgraded to SPDY/3.1
(kubectl before 1.30; master.spdyupgrade, master.api.spdyexec) in one
process: a client speaking client-go's SPDY, the master's real server, a real
agent server on a FakeRuntime."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from coxapi import execclient
from coxapi import streamproto as sp
from master import metrics
from tests.spdyclient import Client, Upgrade
from tests.support import wait_until

from .api_harness import ADMIN_TOKEN, NODE_TOKEN, Api
from .test_api_podexec import POD, Web, agent, api, running  # noqa: F401 - fixtures

V4 = sp.V4
FORWARD = "portforward.k8s.io"


@contextlib.contextmanager
def upgrade(api: Api, path: str, versions: tuple[str, ...] = (V4, "v3.channel.k8s.io"),  # noqa: F811
            token: str = ADMIN_TOKEN) -> Iterator[Upgrade]:
    u = Upgrade(api.url + path, versions, token, api.ca_file)
    try:
        yield u
    finally:
        u.close()


class Peer:
    """kubectl's side of the session: its streams by role, what came on each."""

    def __init__(self, conn: Upgrade) -> None:
        self.conn, self.spdy = conn, Client()
        self.frames: list[tuple[str, int, object]] = []
        self.ids: dict[str, int] = {}

    def open(self, *roles: str, **extra: str) -> None:
        out = b""
        for role in roles:
            sid, frame = self.spdy.syn_stream({"streamType": [role],
                                               **{k: [v] for k, v in extra.items()}})
            self.ids[role] = sid
            out += frame
        self.conn.send(out)

    def send(self, role: str, data: bytes, fin: bool = False) -> None:
        self.conn.send(Client.data(self.ids[role], data, fin))

    def read_to_end(self) -> None:
        """Until the server has closed the connection (after its GOAWAY)."""
        with contextlib.suppress(EOFError):
            while True:
                self.frames += self.spdy.read(self.conn.recv())
                if any(kind == "goaway" for kind, _, _ in self.frames):
                    self.conn.close()  # as client-go does once it has read everything
                    return

    def received(self, role: str) -> tuple[bytes, bool]:
        frames = [d for kind, sid, d in self.frames if kind == "data" and sid == self.ids[role]]
        return b"".join(d for d, _ in frames), any(fin for _, fin in frames)  # type: ignore[misc]


def exec_path(command: list[str], stdin: bool = False, tty: bool = False) -> str:
    return execclient.exec_path("default", "p", command, container=None, stdin=stdin, tty=tty)


def test_exec_output_and_the_exit_status_as_v4_says(api, agent):  # noqa: F811
    with upgrade(api, exec_path(["sh", "-c", "exit 3"])) as conn:
        assert conn.status == 101, conn.body
        assert conn.headers["x-stream-protocol-version"] == V4
        assert conn.headers["upgrade"] == "SPDY/3.1"
        peer = Peer(conn)
        peer.open("error", "stdout", "stderr")
        peer.read_to_end()
    assert peer.received("stdout") == (b"", True)
    assert peer.received("stderr") == (b"exiting\n", True)
    status, ended = peer.received("error")
    assert ended and json.loads(status) == {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: error executing command "
                   "['sh', '-c', 'exit 3'], exit code 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert {sid for kind, sid, _ in peer.frames if kind == "reply"} == set(peer.ids.values())


def test_stdin_is_relayed_and_its_fin_ends_it(api, agent):  # noqa: F811
    with upgrade(api, exec_path(["cat"], stdin=True)) as conn:
        peer = Peer(conn)
        peer.open("error", "stdin", "stdout", "stderr")
        peer.send("stdin", b"x" * 100_000)
        peer.send("stdin", b"second\n", fin=True)
        peer.read_to_end()
    assert peer.received("stdout") == (b"x" * 100_000 + b"second\n", True)
    assert json.loads(peer.received("error")[0])["status"] == "Success"


def test_output_waits_for_every_stream_the_options_call_for(api, agent):  # noqa: F811
    with upgrade(api, exec_path(["echo", "late"])) as conn:
        peer = Peer(conn)
        peer.open("error", "stdout")  # stderr not yet: nothing may be written
        peer.frames += peer.spdy.read(conn.recv())
        assert {kind for kind, _, _ in peer.frames} == {"reply"}
        peer.open("stderr")
        peer.read_to_end()
    assert peer.received("stdout") == (b"late\n", True)


def test_a_terminal_gets_its_sizes_from_the_resize_stream(api, agent):  # noqa: F811
    procs = []
    exec_open = agent.rt.exec_open
    agent.rt.exec_open = lambda *a: procs.append(p := exec_open(*a)) or p
    with upgrade(api, exec_path(["readline"], stdin=True, tty=True)) as conn:
        peer = Peer(conn)
        peer.open("error", "stdin", "stdout", "resize")
        peer.send("resize", b'{"Width":80,"Height":24}\n{"Width":100,')  # split across frames
        peer.send("resize", b'"Height":40}\n')
        peer.send("stdin", b"typed\n")
        peer.read_to_end()
    assert peer.received("stdout") == (b"typed\n", True)
    assert procs[0].keep == [(80, 24), (100, 40)]


def test_a_stream_of_no_expected_role_is_reset(api, agent):  # noqa: F811
    with upgrade(api, exec_path(["echo", "x"])) as conn:
        peer = Peer(conn)
        peer.open("stdin")  # the options say no stdin
        peer.open("bogus")
        peer.open("error", "stdout", "stderr")
        peer.read_to_end()
    resets = {sid for kind, sid, _ in peer.frames if kind == "rst"}
    assert resets == {1, 3} and peer.received("stdout") == (b"x\n", True)


def refusal(api: Api, path: str, versions: tuple[str, ...] = (V4,),  # noqa: F811
            token: str = ADMIN_TOKEN) -> tuple[int, dict]:
    """The answer to an upgrade that is refused: a plain HTTP Status, then the
    connection closes (``Upgrade`` reads to its end)."""
    with upgrade(api, path, versions, token) as conn:
        assert conn.status != 101 and "upgrade" not in conn.headers
        assert conn.headers["connection"] == "close"
        return conn.status, json.loads(conn.body)


def test_refusals_are_the_websockets_statuses_before_any_upgrade(api, agent):  # noqa: F811
    path = exec_path(["echo", "x"])
    code, status = refusal(api, path, token="bogus")
    assert code == 401 and status["reason"] == "Unauthorized"
    code, status = refusal(api, path, token=NODE_TOKEN)
    assert code == 403 and "pods/exec" in status["message"]
    code, status = refusal(api, path.replace("/pods/p/", "/pods/q/"))
    assert code == 404 and status["reason"] == "NotFound"
    code, status = refusal(api, exec_path([]))
    assert code == 400 and status["message"].startswith("command:")
    code, status = refusal(api, path, versions=("v3.channel.k8s.io", "channel.k8s.io"))
    assert code == 400 and status["message"].startswith("X-Stream-Protocol-Version:")
    code, status = refusal(api, path.replace("/exec?", "/attach?"), token=NODE_TOKEN)
    assert code == 403 and "pods/attach" in status["message"]
    assert agent.rt.execs == []


def test_attach_reaches_the_main_process(api, agent):  # noqa: F811
    path = exec_path([], stdin=True).replace("/exec?", "/attach?")
    with upgrade(api, path) as conn:
        peer = Peer(conn)
        peer.open("error", "stdin", "stdout", "stderr")
        peer.send("stdin", b"typed\n")
        peer.read_to_end()
    assert peer.received("stdout") == (b"typed\n", True)


def test_port_forward_pairs_reach_the_pods_port(api, agent):  # noqa: F811
    web = Web()
    path = f"{POD}/p/portforward"
    code, status = refusal(api, path, versions=(FORWARD,))
    assert code == 400 and "not running" in status["message"]
    running(api)
    code, status = refusal(api, path, versions=(FORWARD,), token=NODE_TOKEN)
    assert code == 403 and "pods/portforward" in status["message"]
    code, status = refusal(api, path, versions=(V4,))
    assert code == 400 and status["message"].startswith("X-Stream-Protocol-Version:")
    with upgrade(api, path, (FORWARD,)) as conn:
        assert conn.status == 101 and conn.headers["x-stream-protocol-version"] == FORWARD
        spdy, frames = Client(), []
        pairs = []
        for i in range(3):
            headers = {"port": [str(web.port)], "requestID": [str(i)]}
            err, f1 = spdy.syn_stream({**headers, "streamType": ["error"]})
            data, f2 = spdy.syn_stream({**headers, "streamType": ["data"]})
            conn.send(f1 + f2 + Client.data(data, f"GET /c{i} HTTP/1.0\r\n\r\n".encode(),
                                            fin=True))
            pairs.append((err, data))

        def ended(sid: int) -> bool:
            return any(k == "data" and s == sid and d[1] for k, s, d in frames)  # type: ignore[index]
        while not all(ended(e) and ended(d) for e, d in pairs):
            frames += spdy.read(conn.recv())
    for i, (_, data) in enumerate(pairs):
        body = b"".join(d[0] for k, s, d in frames if k == "data" and s == data)  # type: ignore[index]
        assert body.startswith(b"HTTP/1.0 200") and body.endswith(f"hello from /c{i}".encode())


def test_an_upgrade_elsewhere_is_served_as_plain_http(api, agent):  # noqa: F811
    code, status = refusal(api, "/api/v1/namespaces/default/configmaps")
    assert code == 400 and status["kind"] == "Status"


def test_an_accepted_upgrade_counts_as_101_in_the_metrics(api, agent):  # noqa: F811
    labels = {"verb": "POST", "resource": "pods", "code": "101"}
    before = metrics.REGISTRY.get_sample_value("apiserver_request_total", labels) or 0
    with upgrade(api, exec_path(["echo", "x"])) as conn:
        peer = Peer(conn)
        peer.open("error", "stdout", "stderr")
        peer.read_to_end()
    wait_until(lambda: metrics.REGISTRY.get_sample_value("apiserver_request_total", labels)
               == before + 1, 10, what="the exec counted")
