"""Serving the WSGI app with the standard library: one thread per keep-alive
connection that reads, handles and answers its requests in turn.

Measured against cheroot for the store's small requests, this avoids
cheroot's per-request hand-offs between its connection manager and worker
pool, which under the GIL cost more than the request itself."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_HEADER_LINE = 65536
MAX_HEADERS = 100


class Headers(dict):
    """Request headers by lower-cased name (the store reads two of them)."""

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a chunked stream writes many small pieces
    app: Callable
    raw_requestline: bytes  # set by handle_one_request before parse_request
    timeout = 300  # an idle keep-alive connection is closed after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass  # requests are not logged (bodies may hold secrets)

    def parse_request(self) -> bool:
        """The standard library's request parsing without its email-package
        header parser, which cost more CPU than the store's whole write path
        under the GIL. Same outcomes for the requests a client sends: 400 on
        a malformed line, 431 on oversized headers, HTTP/1.1 keep-alive,
        ``Connection: close`` and ``Expect: 100-continue`` honoured."""
        self.command = ""  # the stdlib sets None here; no method parsed yet either way
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"  # so the refusal has a status line
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request line ({line[:80]!r})")
            return False
        self.command, self.path, self.request_version = words
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        headers = Headers()
        while True:
            raw = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(raw) > MAX_HEADER_LINE or len(headers) > MAX_HEADERS:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Headers too large")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = str(raw, "iso-8859-1").partition(":")
            if not sep:
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            headers[name.strip().lower()] = value.strip()
        self.headers = headers  # type: ignore[assignment]
        self.close_connection = (self.request_version == "HTTP/1.0"
                                 or headers.get("connection", "").lower() == "close")
        if headers.get("expect", "").lower() == "100-continue" \
                and self.request_version != "HTTP/1.0":
            return self.handle_expect_100()
        return True

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        length = self.headers.get("Content-Length")
        environ = {
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_LENGTH": length or "",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.input": self.rfile if length else io.BytesIO(),
            "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": self.request_version,
        }
        status_headers: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            status_headers[:] = [status, headers]

        body = self.app(environ, start_response)
        status, headers = status_headers
        try:
            if any(k.lower() == "content-length" for k, _ in headers):
                # A sized answer leaves in one write: one syscall, one packet.
                self.wfile.write(self._head(status, headers) + b"".join(body))
                return
            self.wfile.write(self._head(status, [*headers, ("Transfer-Encoding", "chunked")]))
            for data in body:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def _head(self, status: str, headers: list[tuple[str, str]]) -> bytes:
        lines = [f"{self.protocol_version} {status}",
                 f"Server: {self.version_string()}", f"Date: {self.date_time_string()}",
                 *(f"{k}: {v}" for k, v in headers)]
        if self.close_connection or any(k.lower() == "connection" and v.lower() == "close"
                                        for k, v in headers):
            self.close_connection = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: Callable) -> None:
        handler = type("Handler", (_Handler,), {"app": staticmethod(app)})
        super().__init__((host, port), handler)

    def serve(self) -> None:
        self.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
