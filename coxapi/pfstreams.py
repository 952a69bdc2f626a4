"""The streams of ``portforward.k8s.io`` over SPDY, as kubectl opens them and
the kubelet pairs them: each forwarded connection is two client streams, an
error stream and a data stream, with the headers ``streamType`` (``error`` or
``data``), ``port`` and ``requestID`` (the same on both). The server answers
each stream, connects to the port once both are there, copies bytes on the
data stream and writes any failure, as text, on the error stream before
closing both. Pure: no sockets.

kubectl 1.30+ carries this SPDY session inside a WebSocket
(``SPDY/3.1+portforward.k8s.io``: the SPDY bytes in binary messages).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors
from .spdy import Headers, first

PROTOCOL = "portforward.k8s.io"
TUNNEL_PREFIX = "SPDY/3.1+"
TUNNEL_PROTOCOL = TUNNEL_PREFIX + PROTOCOL
ERROR, DATA = "error", "data"


@dataclass
class Pair:
    """One forwarded connection: its two streams (0 until opened)."""

    request_id: str
    port: int
    data: int = 0
    error: int = 0

    @property
    def complete(self) -> bool:
        return bool(self.data and self.error)


def _port(headers: Headers) -> int:
    raw = first(headers, "port")
    if not raw:
        raise errors.BadRequest('port: the "port" header is required')
    try:
        port = int(raw)
    except ValueError:
        raise errors.BadRequest(f'port: unable to parse "{raw}" as a port') from None
    if not 0 < port <= 65535:
        raise errors.BadRequest(f'port: "{raw}" must be between 1 and 65535')
    return port


def request_id(stream_id: int, stream_type: str, headers: Headers) -> str:
    """The header, or for clients too old to send it the kubelet's guess:
    the error stream's id, which the data stream follows by 2."""
    given = first(headers, "requestid")
    if given:
        return given
    return str(stream_id if stream_type == ERROR else stream_id - 2)


class Pairs:
    """Streams waiting for their partner. ``add`` checks a new stream (a 400
    naming the header when bad: the caller resets that stream) and returns
    the pair once both of its streams are there."""

    def __init__(self) -> None:
        self._waiting: dict[str, Pair] = {}

    def add(self, stream_id: int, headers: Headers) -> Pair | None:
        stream_type = first(headers, "streamtype")
        if stream_type not in (ERROR, DATA):
            raise errors.BadRequest(f'streamType: "{stream_type}" is neither "error" nor "data"')
        port = _port(headers)
        rid = request_id(stream_id, stream_type, headers)
        pair = self._waiting.setdefault(rid, Pair(rid, port))
        slot = "data" if stream_type == DATA else "error"
        if getattr(pair, slot):
            raise errors.BadRequest(f"streamType: a second {stream_type} stream for "
                                    f"request {rid}")
        if pair.port != port:
            raise errors.BadRequest(f"port: {port} differs from the {pair.port} of the other "
                                    f"stream of request {rid}")
        setattr(pair, slot, stream_id)
        if pair.complete:
            del self._waiting[rid]
            return pair
        return None
