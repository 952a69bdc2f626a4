"""What the master's server does about connections that never finish: a
header read timeout, and TCP keepalive so a dead peer is noticed.

uvicorn times out only idle keep-alive connections: one that sends half a
request line (slowloris) and stops is held forever, an open file and buffers
each. ``guarded_protocol`` closes a connection whose request headers are not
complete ``header_timeout`` seconds after it opened or after its request began
(Go's ReadHeaderTimeout, which kube-apiserver sets).

A watch on a quiet collection writes nothing for minutes; if its client's
host died the connection would stay. TCP keepalive probes (set on the
listening socket; Linux copies them to each accepted one) end it within
``idle + interval * count`` seconds, and ``TCP_USER_TIMEOUT`` ends one whose
sent data stays unacknowledged.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 30.0  # seconds
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 30, 10, 3  # dead after about 60 s
USER_TIMEOUT_MS = 60_000


class _GuardedProtocol(HttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(header_timeout: float = HEADER_TIMEOUT) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header read timeout."""
    return type("GuardedHttpProtocol", (_GuardedProtocol,), {"header_timeout": header_timeout})


def set_keepalive(sock: socket.socket, idle: int = KEEPALIVE_IDLE,
                  interval: int = KEEPALIVE_INTERVAL, count: int = KEEPALIVE_COUNT,
                  user_timeout_ms: int = USER_TIMEOUT_MS) -> None:
    """Keepalive probes on ``sock`` (a listening socket passes them on)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for opt, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval),
                       ("TCP_KEEPCNT", count), ("TCP_USER_TIMEOUT", user_timeout_ms)):
        if hasattr(socket, opt):  # Linux has them all
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
