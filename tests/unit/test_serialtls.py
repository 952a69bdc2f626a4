"""coxapi.serialtls: an exec's WebSocket never has two threads inside OpenSSL
at once (its reader thread, and the caller or the stdin feeder writing)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from websockets.sync.connection import Connection

from coxapi.serialtls import SerialTLSSocket

from .test_api_podexec import Agent, agent, api, run  # noqa: F401 - fixtures

WRITES = ("send", "sendall", "write")
TLS_CALLS = ("recv", "recv_into", "read", *WRITES)


class Overlap:
    """Counts the threads inside an ``ssl.SSLSocket`` I/O call at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth: dict[int, int] = {}
        self.most = 0
        self.reading = threading.Event()

    def enter(self, name: str) -> None:
        if name not in WRITES:
            self.reading.set()
        with self.lock:
            me = threading.get_ident()
            self.depth[me] = self.depth.get(me, 0) + 1
            self.most = max(self.most, len(self.depth))

    def leave(self) -> None:
        with self.lock:
            me = threading.get_ident()
            self.depth[me] -= 1
            if not self.depth[me]:
                del self.depth[me]


@pytest.fixture
def overlap(monkeypatch: pytest.MonkeyPatch) -> Iterator[Overlap]:
    seen = Overlap()
    for name in TLS_CALLS:
        original = getattr(ssl.SSLSocket, name)

        def tracked(self: ssl.SSLSocket, *args: object, _original: object = original,
                    _name: str = name, **kwargs: object) -> object:
            seen.enter(_name)
            try:
                return _original(self, *args, **kwargs)  # type: ignore[operator]
            finally:
                seen.leave()
        monkeypatch.setattr(ssl.SSLSocket, name, tracked)
    send_data = Connection.send_data

    def send_after_a_read_began(self: Connection) -> None:
        # the order that lost requests: the reader thread is reading (it reads
        # as soon as the master's TLS 1.3 session tickets arrive) when the
        # handshake's request is written
        seen.reading.wait(10)
        send_data(self)
    monkeypatch.setattr(Connection, "send_data", send_after_a_read_began)
    yield seen


def test_reader_and_writers_take_turns_in_openssl(api: object, agent: Agent,  # noqa: F811
                                                  overlap: Overlap) -> None:
    # with a bare SSLSocket the reader thread waits inside SSL_read for the
    # answer while the handshake's request is written: under load that write
    # could vanish, and the exec timed out waiting for its answer
    assert run(api, ["cat"], stdin=[b"in"]) == (0, b"in", b"")  # type: ignore[arg-type]
    assert overlap.most == 1


class FakeTLS:
    """An SSLSocket stand-in over one end of a socket pair: ``recv`` answers
    what ``answers`` holds, an exception there being what that call raises."""

    family = socket.AF_UNIX

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.answers: list[bytes | Exception] = []
        self.sent = bytearray()
        self.blocking = True

    def gettimeout(self) -> float | None:
        return None

    def setblocking(self, flag: bool) -> None:
        self.blocking = flag

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, n: int) -> bytes:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def send(self, data: memoryview) -> int:
        if len(data) > 3:  # a partial write: the rest must follow
            self.sent += data[:3]
            return 3
        self.sent += data
        return len(data)


def test_the_ssl_socket_underneath_never_blocks_and_writes_are_whole() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        tls = FakeTLS(ours)
        s = SerialTLSSocket(tls)  # type: ignore[arg-type]
        assert not tls.blocking
        s.sendall(b"request")
        assert bytes(tls.sent) == b"request"
        # a read that would block (in TLS, or in clear after shutdown) waits
        # for the socket, then is tried again
        theirs.send(b"!")
        tls.answers = [ssl.SSLWantReadError(), BlockingIOError(), b"answer"]
        assert s.recv(100) == b"answer"
        s.settimeout(0.01)
        tls.answers = [ssl.SSLWantReadError()]
        ours.recv(1)  # nothing more to read: the wait ends at the timeout
        with pytest.raises(TimeoutError):
            s.recv(100)
