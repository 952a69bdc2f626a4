"""A TLS socket two threads may use at once: one reading, one writing.

websockets' sync client reads in a thread of its own while the caller writes
(the opening handshake's request, then stdin of an exec). With a plain
``ssl.SSLSocket`` both threads are inside OpenSSL on the same connection at
once, which OpenSSL does not allow: CPython releases the GIL around
``SSL_read`` / ``SSL_write`` and keeps no lock of its own. Under load a write
made while the reader waits in ``SSL_read`` (e.g. for the data after TLS 1.3
session tickets) can vanish: the call returns, nothing reaches the wire, and
the exec's handshake waits for an answer to a request the master never got.

:class:`SerialTLSSocket` holds one lock around every call into OpenSSL and
never holds it while waiting for the network: the SSL socket underneath is
non-blocking, and a call that would block releases the lock, waits for the
socket with ``select`` and tries again. Timeouts (``settimeout``) are its own.
:class:`SerialTLSContext` hands websockets these sockets from ``wrap_socket``.
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SerialTLSSocket:
    """The socket-like object websockets' sync connection uses, over ``sock``
    (an ``SSLSocket`` whose handshake is done)."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._timeout = sock.gettimeout()
        self.family = sock.family
        sock.setblocking(False)  # no call into OpenSSL waits, so the lock is held briefly

    def _call(self, fn: Callable[[], T], reading: bool) -> T:
        """``fn()`` under the lock, waiting outside it while it would block
        (after ``shutdown`` the SSL socket reads and writes in clear, and
        blocks as a plain non-blocking socket does)."""
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while True:
            with self._lock:
                try:
                    return fn()
                except ssl.SSLWantReadError:
                    readable = True
                except ssl.SSLWantWriteError:
                    readable = False
                except BlockingIOError:
                    readable = reading
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            fd = self._sock.fileno()
            if fd < 0:
                raise OSError("the socket is closed")
            ready = select.select([fd] if readable else [], [] if readable else [fd], [], left)
            if not any(ready):
                raise TimeoutError("timed out")

    def recv(self, bufsize: int) -> bytes:
        return self._call(functools.partial(self._sock.recv, bufsize), reading=True)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._call(functools.partial(self._sock.send, view), reading=False):]

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def fileno(self) -> int:
        return self._sock.fileno()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def shutdown(self, how: int) -> None:
        with self._lock:
            self._sock.shutdown(how)

    def close(self) -> None:
        with self._lock:
            try:  # wakes a thread waiting in select for this socket
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass  # not connected any more
            self._sock.close()


class SerialTLSContext:
    """Stands in for ``ctx`` where websockets calls ``wrap_socket``: the TLS
    handshake as ``ctx`` does it, then a :class:`SerialTLSSocket`."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None
                    ) -> SerialTLSSocket:
        return SerialTLSSocket(self.ctx.wrap_socket(sock, server_hostname=server_hostname))
