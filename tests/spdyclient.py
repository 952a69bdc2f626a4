"""The client side of SPDY/3.1 framing, for tests: opens odd streams and reads
the server's frames back. Shares nothing with coxapi.spdy.Session but the
format and the dictionary."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import struct
import zlib
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from coxapi.spdy import (
    DICTIONARY,
    FLAG_FIN,
    GOAWAY,
    PING,
    RST_STREAM,
    SYN_REPLY,
    SYN_STREAM,
    control_frame,
    data_frame,
    decode_headers,
    encode_headers,
)


class Client:

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 9,
                                         zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._buf = bytearray()
        self.next_id = 1

    def syn_stream(self, headers: Mapping[str, Sequence[str]], fin: bool = False) -> tuple[int, bytes]:
        stream_id, self.next_id = self.next_id, self.next_id + 2
        block = self._deflate.compress(encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return stream_id, control_frame(SYN_STREAM, FLAG_FIN if fin else 0,
                                        struct.pack(">IIH", stream_id, 0, 0) + block)

    def read(self, data: bytes) -> list[tuple[str, int, object]]:
        """(kind, stream id, detail) of each complete frame: ``("reply", id,
        headers)``, ``("data", id, (bytes, fin))``, ``("rst", id, status)``,
        ``("ping", id, None)``, ``("goaway", last, status)``."""
        self._buf += data
        out: list[tuple[str, int, object]] = []
        while len(self._buf) >= 8:
            word, length = struct.unpack_from(">II", self._buf)
            flags, length = length >> 24, length & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            p = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if not word & 0x80000000:
                out.append(("data", word, (p, bool(flags & FLAG_FIN))))
                continue
            kind = word & 0xFFFF
            (a,) = struct.unpack_from(">I", p)
            if kind == SYN_REPLY:
                out.append(("reply", a, decode_headers(self._inflate.decompress(p[4:]))))
            elif kind == RST_STREAM:
                out.append(("rst", a, struct.unpack_from(">I", p, 4)[0]))
            elif kind == PING:
                out.append(("ping", a, None))
            elif kind == GOAWAY:
                out.append(("goaway", a, struct.unpack_from(">I", p, 4)[0]))
        return out

    @staticmethod
    def data(stream_id: int, data: bytes, fin: bool = False) -> bytes:
        return data_frame(stream_id, data, fin)

    @staticmethod
    def ping(ping_id: int) -> bytes:
        return control_frame(PING, 0, struct.pack(">I", ping_id))


def _connect(url: str, ca_file: str | None, timeout: float) -> socket.socket:
    """A TCP connection to the URL's host, in TLS for https/wss."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout)
    if parts.scheme in ("wss", "https"):
        sock = ssl.create_default_context(cafile=ca_file).wrap_socket(
            sock, server_hostname=parts.hostname)
    return sock


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """An HTTP answer's status and headers (lower-case names), and the bytes after them."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


class Tunnel:
    """A WebSocket carrying SPDY, as client-go's tunnelling dialer opens it. The
    ``websockets`` client refuses the subprotocol's name (``/`` is no token
    character), so the handshake is written here and websockets' sans-I/O
    protocol frames the messages."""

    def __init__(self, url: str, protocol: str, token: str, ca_file: str | None,
                 timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.sock = sock = _connect(url, ca_file, timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Sec-WebSocket-Protocol: {protocol}\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        self.status, self.headers, rest = _read_head(sock)
        self.proto = ClientProtocol(parse_uri(url.replace("https", "wss").replace("http", "ws")),
                                    state=State.OPEN, max_size=None)
        self._events: list[bytes] = []
        if rest:
            self._take(rest)

    @property
    def subprotocol(self) -> str:
        return self.headers.get("sec-websocket-protocol", "")

    def _take(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for frame in self.proto.events_received():
            if frame.opcode == Opcode.BINARY:
                self._events.append(bytes(frame.data))

    def send(self, data: bytes) -> None:
        self.proto.send_binary(data)
        for out in self.proto.data_to_send():
            self.sock.sendall(out)

    def recv(self) -> bytes:
        """The next binary message; EOFError when the server closed."""
        while not self._events:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self._take(chunk)
        return self._events.pop(0)

    def close(self) -> None:
        self.sock.close()


class Upgrade:
    """An HTTP/1.1 request upgraded to SPDY/3.1, as client-go's SPDY round
    tripper makes it (kubectl before 1.30): ``status`` and ``headers`` of the
    answer; ``body`` when it was refused; ``send``/``recv`` after a 101."""

    def __init__(self, url: str, versions: Sequence[str], token: str, ca_file: str | None,
                 timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.sock = sock = _connect(url, ca_file, timeout)
        versions_lines = "".join(f"X-Stream-Protocol-Version: {v}\r\n" for v in versions)
        sock.sendall((f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n"
                      f"{versions_lines}Authorization: Bearer {token}\r\n\r\n").encode())
        self.status, self.headers, self._rest = _read_head(sock)
        self.body = b""
        if self.status != 101:
            self.body = self._rest + self._read_all()
            if self.headers.get("transfer-encoding") == "chunked":
                self.body = _dechunk(self.body)

    def _read_all(self) -> bytes:
        out = b""
        while chunk := self.sock.recv(65536):
            out += chunk
        return out

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> bytes:
        """The next bytes; EOFError when the server closed."""
        if self._rest:
            data, self._rest = self._rest, b""
            return data
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        out, data = out + data[:n], data[n + 2:]
        if n == 0:
            break
    return out
