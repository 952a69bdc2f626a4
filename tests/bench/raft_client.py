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
