"""A tiny JSON-over-HTTP/1.1 client with one keep-alive connection, used by
the raftstore integration tests and the benchmark (for both raftstore and
etcd's gateway, so both see the same client pattern)."""

from __future__ import annotations

import http.client
import json
from typing import Any


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class JsonClient:
    def __init__(self, addr: str, timeout: float = 10.0) -> None:
        host, _, port = addr.rpartition(":")
        self.addr = addr
        self._host, self._port, self._timeout = host, int(port), timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request; a dropped keep-alive connection is not retried (the
        caller decides, since a write may have been applied)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return resp.status, (json.loads(raw) if raw else None)

    def post(self, path: str, body: Any) -> Any:
        status, out = self.call("POST", path, body)
        if status != 200:
            raise HttpError(status, out)
        return out

    def get(self, path: str) -> Any:
        status, out = self.call("GET", path)
        if status != 200:
            raise HttpError(status, out)
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FastJsonClient:
    """The benchmark's client: the same requests as JsonClient over one
    keep-alive socket, without http.client's per-request overhead, so the
    client processes take less of the CPU the servers need. Used identically
    for raftstore and etcd."""

    def __init__(self, addr: str, timeout: float = 10.0) -> None:
        self._addr, self._timeout = addr, timeout
        self._host = addr.encode()
        self.reconnects = 0
        self._connect()

    def _connect(self) -> None:
        import socket
        host, _, port = self._addr.rpartition(":")
        self._sock = socket.create_connection((host, int(port)), timeout=self._timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rfile = self._sock.makefile("rb")

    def post(self, path: str, body: Any) -> Any:
        if self._sock is None:  # the server said "Connection: close" last time
            self.reconnects += 1
            self._connect()
        data = json.dumps(body).encode()
        self._sock.sendall(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self._host, len(data), data))
        status = int(self._rfile.readline().split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for _ in range(100):
            line = self._rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            raw = b""
            for _ in range(10_000):
                size = int(self._rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self._rfile.readline()
                    break
                raw += self._rfile.read(size)
                self._rfile.readline()
        else:
            raw = self._rfile.read(length or 0)
        out = json.loads(raw) if raw else None
        if close:
            self.close()
        if status != 200:
            raise HttpError(status, out)
        return out

    def close(self) -> None:
        if self._sock is not None:
            self._rfile.close()
            self._sock.close()
            self._sock = None
