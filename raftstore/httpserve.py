"""Serving the WSGI app with the standard library: one thread per keep-alive
connection that reads, handles and answers its requests in turn.

Measured against cheroot for the store's small requests, this avoids
cheroot's per-request hand-offs between its connection manager and worker
pool, which under the GIL cost more than the request itself."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a chunked stream writes many small pieces
    app: Callable
    timeout = 300  # an idle keep-alive connection is closed after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass  # requests are not logged (bodies may hold secrets)

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
