"""SPDY/3.1 framing, server side, sans-I/O: ``feed`` the peer's bytes and get
events, call ``reply``/``send_data``/``reset``/``go_away`` and take the bytes
to write from ``data_to_send``. No sockets, no clocks.

This is what kubectl's port-forward (and older kubectl's exec) speaks,
through moby/spdystream: every frame is a control frame (C bit set, version 3,
type, flags, 24-bit length) or a data frame (31-bit stream id, flags, 24-bit
length). Header blocks are zlib streams with the SPDY/3 dictionary: one zlib
stream per direction for the whole session, each block ended by a sync
flush. Client streams have odd ids. PINGs from the client are answered
here. spdystream keeps no flow-control windows, so WINDOW_UPDATE and
SETTINGS are read and ignored and none are sent.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN, FLAG_UNIDIRECTIONAL = 0x01, 0x02

# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR = 0, 1

MAX_FRAME = (1 << 24) - 1
MAX_HEADER_BLOCK = 1 << 20  # decompressed; a peer sending more is cut off

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base "
    "content-encoding content-language content-length content-location content-md5 "
    "content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
    "server te trailer transfer-encoding upgrade user-agent vary via warning "
    "www-authenticate method get status|200 OK|version|HTTP/1.1|url|public|set-cookie|"
    "keep-alive|origin")
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
    "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
    "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
    "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def _dictionary() -> bytes:
    """The header compression dictionary of SPDY/3 (draft 3.1, section
    2.6.10.1): length-prefixed words, then a run of status codes and values."""
    head, rest = _WORDS.split(" status|")
    words = head.split(" ") + ["status"] + rest.split("|")
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer broke the framing; the session cannot go on (send GOAWAY, close)."""


Headers = dict[str, list[str]]


# ---- events --------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamOpened:
    stream_id: int
    headers: Headers
    fin: bool  # the peer will send nothing on it


@dataclass(frozen=True)
class Data:
    stream_id: int
    data: bytes
    fin: bool


@dataclass(frozen=True)
class StreamReset:
    stream_id: int
    status: int


@dataclass(frozen=True)
class GoAway:
    last_stream_id: int
    status: int


Event = StreamOpened | Data | StreamReset | GoAway


# ---- header blocks ----------------------------------------------------------------------

def encode_headers(headers: Mapping[str, Sequence[str]]) -> bytes:
    """The uncompressed name/value block: names lowercased, several values of
    one name joined by NUL (as SPDY/3 says)."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        n, v = name.lower().encode(), "\0".join(values).encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_headers(block: bytes) -> Headers:
    try:
        (count,), pos = struct.unpack_from(">I", block), 4
        out: Headers = {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            (v,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4:pos + 4 + v].decode()
            pos += 4 + v
            if pos > len(block):
                raise ProtocolError("a header block ends inside a name or value")
            out.setdefault(name.lower(), []).extend(value.split("\0"))
    except (struct.error, UnicodeDecodeError) as e:
        raise ProtocolError(f"bad header block: {e}") from None
    return out


def first(headers: Headers, name: str) -> str:
    """The first value of a header, "" when absent."""
    return next(iter(headers.get(name.lower()) or []), "")


# ---- frames ------------------------------------------------------------------------------

def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF,
                       ((FLAG_FIN if fin else 0) << 24) | len(data)) + data


class Session:
    """One SPDY/3.1 session as the server. Header compression state spans the
    whole session, so every frame must go through one ``Session``."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._out = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 9,
                                         zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self.last_stream_id = 0  # the highest stream the peer opened
        self.gone_away = False

    # -- input
    def feed(self, data: bytes) -> list[Event]:
        """The events of the complete frames fed so far; a partial frame waits."""
        self._buf += data
        events: list[Event] = []
        while len(self._buf) >= 8:
            word, length = struct.unpack_from(">II", self._buf)
            flags, length = length >> 24, length & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if word & 0x80000000:
                version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
                if version != VERSION:
                    raise ProtocolError(f"SPDY version {version} is not spoken here (only 3)")
                event = self._control(kind, flags, payload)
                if event is not None:
                    events.append(event)
            else:
                events.append(Data(word & 0x7FFFFFFF, payload, bool(flags & FLAG_FIN)))
        return events

    def _control(self, kind: int, flags: int, p: bytes) -> Event | None:
        try:
            if kind == SYN_STREAM:
                stream_id, _assoc = struct.unpack_from(">II", p)
                stream_id &= 0x7FFFFFFF
                if stream_id == 0 or stream_id % 2 == 0 or stream_id <= self.last_stream_id:
                    raise ProtocolError(f"stream {stream_id} may not be opened by a client now")
                self.last_stream_id = stream_id
                return StreamOpened(stream_id, self._headers(p[10:]), bool(flags & FLAG_FIN))
            if kind in (SYN_REPLY, HEADERS):
                self._headers(p[4:])  # keeps the zlib stream in step; servers get none anyway
                return None
            if kind == RST_STREAM:
                stream_id, status = struct.unpack_from(">II", p)
                return StreamReset(stream_id & 0x7FFFFFFF, status)
            if kind == PING:
                (ping_id,) = struct.unpack_from(">I", p)
                if ping_id % 2 == 1:  # the client's: echo it; ours (even) we never send
                    self._out += control_frame(PING, 0, p[:4])
                return None
            if kind == GOAWAY:
                last, status = struct.unpack_from(">II", p)
                return GoAway(last & 0x7FFFFFFF, status)
        except struct.error:
            raise ProtocolError(f"control frame {kind} is too short") from None
        return None  # SETTINGS, WINDOW_UPDATE and unknown types: nothing to do

    def _headers(self, compressed: bytes) -> Headers:
        try:
            block = self._inflate.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise ProtocolError(f"bad compressed header block: {e}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError(f"a header block over {MAX_HEADER_BLOCK} bytes")
        return decode_headers(block)

    # -- output
    def _compress(self, headers: Mapping[str, Sequence[str]]) -> bytes:
        return self._deflate.compress(encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def reply(self, stream_id: int, headers: Mapping[str, Sequence[str]] | None = None,
              fin: bool = False) -> None:
        payload = struct.pack(">I", stream_id) + self._compress(headers or {})
        self._out += control_frame(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    def send_data(self, stream_id: int, data: bytes, fin: bool = False) -> None:
        """DATA frames (split at the 24-bit length); ``fin`` on the last."""
        view = memoryview(data)
        while len(view) > MAX_FRAME:
            self._out += data_frame(stream_id, bytes(view[:MAX_FRAME]))
            view = view[MAX_FRAME:]
        self._out += data_frame(stream_id, bytes(view), fin)

    def reset(self, stream_id: int, status: int) -> None:
        self._out += control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def go_away(self, status: int = GOAWAY_OK) -> None:
        if not self.gone_away:
            self.gone_away = True
            self._out += control_frame(GOAWAY, 0, struct.pack(">II", self.last_stream_id,
                                                              status))

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

