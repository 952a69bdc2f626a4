"""Plain HTTP/1.1 upgraded to ``SPDY/3.1``, as kubectl up to 1.29 (and 1.30/1.31
for exec) asks for exec, attach and port-forward: the takeover of the raw
connection from uvicorn.

uvicorn's httptools protocol upgrades only to WebSocket; any other upgrade
request is served as plain HTTP. :func:`with_takeover` makes a protocol that,
for a request with ``Connection: Upgrade`` and ``Upgrade: SPDY/3.1``, puts a
:class:`Takeover` in the ASGI scope's extensions (``coxswain.spdy``). The
application checks the request with its usual code; a refusal is an ordinary
HTTP response (the connection then closes), an acceptance is
:meth:`Takeover.accept`: the ``101 Switching Protocols`` is written and the
connection becomes an :class:`Upgraded` byte stream owned by the application's
task. The client sends nothing before the 101 (it cannot know the answer);
bytes that come anyway wait for the stream, but any in the request's own
packet after its headers are dropped with the HTTP parser.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

EXTENSION = "coxswain.spdy"
SPDY_31 = b"spdy/3.1"
_HIGH_WATER = 1 << 20  # bytes read and not yet taken: stop reading the socket
_MAX_EARLY = 1 << 16  # bytes a client may send before the 101; more closes the connection


class Upgraded(asyncio.Protocol):
    """The connection after the 101: bytes in (``read``) and out (``write``),
    with back-pressure both ways."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    # -- asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER:
            self.transport.pause_reading()
        self._readable.set()

    def eof_received(self) -> bool:
        self._eof = True
        self._readable.set()
        return False  # asyncio closes once what is written has gone (TLS cannot half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._readable.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- the application's side
    async def read(self) -> bytes:
        """The next bytes the client sent; b"" once it has finished."""
        while not self._chunks:
            if self._eof:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered <= _HIGH_WATER and not self.transport.is_closing():
            self.transport.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        """Write, then wait while the client is slower than us."""
        if self.transport.is_closing():
            raise ConnectionResetError("the client's connection is closed")
        self.transport.write(data)
        await self._writable.wait()

    def close(self) -> None:
        self.transport.close()


class Takeover:
    """What the application gets for a SPDY upgrade request."""

    def __init__(self, protocol: HttpToolsProtocol) -> None:
        self._protocol = protocol
        self.cycle: Any = None  # the request's RequestResponseCycle, once uvicorn made it
        self._early = bytearray()
        self.accepted = False

    def received(self, data: bytes) -> None:
        """Bytes that came before the 101: kept for the stream, within reason."""
        self._early += data
        if len(self._early) > _MAX_EARLY:
            self._protocol.transport.close()

    def accept(self, headers: list[tuple[str, str]]) -> Upgraded:
        """Write the 101 with ``headers`` (besides Connection and Upgrade) and
        take the connection over; no HTTP response follows."""
        p, cycle = self._protocol, self.cycle
        if cycle.response_started:
            raise RuntimeError("an HTTP response has begun; the connection cannot switch")
        cycle.response_started = cycle.response_complete = True  # uvicorn writes no more
        p.connections.discard(p)  # the stream's task ends it, not uvicorn's idle handling
        lines = ["HTTP/1.1 101 Switching Protocols", "Connection: Upgrade",
                 "Upgrade: SPDY/3.1", *(f"{k}: {v}" for k, v in headers)]
        transport = p.transport
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        stream = Upgraded(transport)
        transport.set_protocol(stream)
        p.flow.resume_reading()
        if self._early:
            stream.data_received(bytes(self._early))
        if transport.is_closing():  # the client left while it was being checked
            stream.connection_lost(None)
        self.accepted = True
        return stream


def offered(scope: dict[str, Any]) -> Takeover | None:
    """The takeover of a SPDY upgrade request, None for any other request."""
    return cast(Takeover | None, (scope.get("extensions") or {}).get(EXTENSION))


def header_values(scope: dict[str, Any], name: bytes) -> list[str]:
    """Every value of a header, repeated or comma-joined."""
    return [v.strip() for k, value in scope.get("headers", ()) if k == name
            for v in value.decode("latin-1").split(",") if v.strip()]


def with_takeover(base: type[HttpToolsProtocol]) -> type[HttpToolsProtocol]:
    """``base`` (uvicorn's httptools protocol or a subclass) that offers the
    application a :class:`Takeover` for a ``SPDY/3.1`` upgrade request."""

    class SpdyUpgradeProtocol(base):  # type: ignore[valid-type, misc]
        _takeover: Takeover | None = None

        def on_headers_complete(self) -> None:
            if self.parser.should_upgrade() and self._get_upgrade() == SPDY_31:
                self._takeover = Takeover(self)
                self.scope["extensions"] = {EXTENSION: self._takeover}
            super().on_headers_complete()  # schedules the application's task, not run yet
            if self._takeover is not None:
                self._takeover.cycle = self.cycle
                self.cycle.keep_alive = False  # a refusal ends the connection

        def data_received(self, data: bytes) -> None:
            if self._takeover is not None:  # the parser is done with this connection
                self._takeover.received(data)
                return
            super().data_received(data)

        def _unsupported_upgrade_warning(self) -> None:
            if self._takeover is None:
                super()._unsupported_upgrade_warning()

    SpdyUpgradeProtocol.__name__ = SpdyUpgradeProtocol.__qualname__ = \
        f"SpdyUpgrade{base.__name__}"
    return SpdyUpgradeProtocol
