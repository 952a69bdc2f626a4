"""The API client's HTTP transport: urllib3's connection pools, used directly.

``requests`` did the same through layers the client used none of (a prepared
request, hooks, an adapter building a Response, a chardet guess per body) and
those layers were a third of a node agent's CPU per request. What the client
needs is here: one pool manager per proxy (direct, or one from the
environment), connections kept alive and shared by every thread, a connect
timeout that covers the TLS handshake, and a reply that reads whole or
streams line by line.

Errors: ``TransportError`` (urllib3's ``HTTPError``) for a request that failed;
``never_connected`` tells those that surely never reached a server. A stream
that breaks or falls silent after its reply began raises ``ConnectionBroken``.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, SSLError

from .errors import ConnectionBroken

TransportError = HTTPError


class Reply:
    """One answer: its status, headers and body (read whole, or streamed)."""

    def __init__(self, resp: urllib3.BaseHTTPResponse, url: str) -> None:
        self._resp = resp
        self.url = url
        self.status_code: int = resp.status
        self.reason: str = resp.reason or ""
        self.headers = resp.headers  # case-insensitive

    @property
    def content(self) -> bytes:
        return self._resp.data

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers.get("Content-Type", "")), "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def iter_lines(self) -> Iterator[str]:
        """The body's lines as they arrive (without their ``\\n`` or ``\\r\\n``),
        the last one even without a newline."""
        pending = b""
        try:
            for chunk in self._resp.stream(None):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    yield line.removesuffix(b"\r").decode("utf-8", "replace")
        except HTTPError as e:  # reset, cut off mid-chunk, or silent past the read timeout
            raise ConnectionBroken(f"{self.url}: the stream broke: {e}") from e
        if pending:
            yield pending.removesuffix(b"\r").decode("utf-8", "replace")

    def close(self) -> None:
        """Done with it: a connection read to the end goes back to the pool; one
        left halfway (a watch given up) is closed, as its rest would be read as
        the next answer."""
        if self._resp.connection is not None:  # not read to the end (then it is released)
            self._resp.close()
            self._resp.release_conn()

    def __enter__(self) -> Reply:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport:
    """Kept-alive connections to every server, shared by all threads."""

    def __init__(self, ca_file: str | None, pool_size: int) -> None:
        """``ca_file``: the CA bundle to verify servers with (None: the system's)."""
        self._options: dict[str, Any] = {
            "num_pools": 8, "maxsize": pool_size, "block": False,
            "cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca_file,
        }
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def _manager(self, proxy: str | None) -> urllib3.PoolManager:
        manager = self._managers.get(proxy)
        if manager is None:
            with self._lock:
                manager = self._managers.get(proxy)
                if manager is None:
                    manager = (urllib3.ProxyManager(proxy, **self._options) if proxy
                               else urllib3.PoolManager(**self._options))
                    # an instance attribute: urllib3's module-wide table stays as it is
                    manager.pool_classes_by_scheme = {
                        **manager.pool_classes_by_scheme, "https": _HTTPSPool}
                    self._managers[proxy] = manager
        return manager

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
             stream: bool, timeout: tuple[float, float | None],
             proxy: str | None = None) -> Reply:
        """One request (through ``proxy``); no retries and no redirects followed:
        the client decides what to do on failure."""
        resp = self._manager(proxy).urlopen(
            method, url, body=body, headers=headers, retries=False, redirect=False,
            preload_content=not stream, decode_content=True,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]))
        return Reply(resp, url)

    def close(self) -> None:
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.clear()


def url_for(server: str, path: str, params: dict[str, Any] | None) -> str:
    url = server + path
    if params:
        url += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
    return url


def never_connected(e: Exception) -> bool:
    """Whether the request surely never reached a server: no connection was
    made (refused, unresolvable, timed out: urllib3's NewConnectionError is a
    ConnectTimeoutError), or the server's certificate failed verification (the
    handshake comes before the request)."""
    return isinstance(e, ConnectTimeoutError) or (
        isinstance(e, SSLError) and any(isinstance(a, ssl.SSLCertVerificationError)
                                        for a in e.args))


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


class _HandshakeTimeoutIsConnectTimeout(HTTPSConnection):
    """urllib3 makes the TLS handshake just before sending the request, and
    reports a handshake that timed out as a *read* timeout, as if the request
    had been sent: a write would then be called "may have been applied" and
    not tried on another master, though the master never saw a byte of it (a
    busy master is slow to finish handshakes first). Here it is what it is, a
    connect timeout."""

    def connect(self) -> None:
        try:
            super().connect()
        except TimeoutError as e:  # the handshake's (TCP's own is a ConnectTimeoutError)
            self.close()
            raise ConnectTimeoutError(
                self, f"TLS handshake with {self.host}:{self.port} timed out") from e


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HandshakeTimeoutIsConnectTimeout
