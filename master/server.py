"""The production HTTP server of a master: cheroot (a threaded WSGI server with
HTTP/1.1 keep-alive) in front of the Flask app.

Watch and log responses are generators without a Content-Length, so cheroot
sends them chunked and writes (and flushes) each event as it is yielded.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cheroot import wsgi

from .api.responses import STREAM_ENVIRON_KEY

log = logging.getLogger(__name__)


def send_stream_headers_early(app: Any) -> Any:
    """WSGI servers send headers with the first non-empty body chunk; a watch
    with nothing to report yet would leave its client waiting for them. For
    responses marked as streams, push the headers out at once."""

    def wrapped(environ: dict, start_response: Any) -> Any:
        writes = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            write = start_response(status, headers, exc_info)
            writes.append(write)
            return write

        body = app(environ, capture)
        if environ.get(STREAM_ENVIRON_KEY) and writes:
            writes[-1](b"")
        return body

    return wrapped


class ApiServer:
    def __init__(self, app: Any, host: str, port: int, threads: int = 128,
                 socket_timeout: int = 30) -> None:
        self._server = wsgi.Server((host, port), send_stream_headers_early(app),
                                   numthreads=threads,
                                   server_name="coxswain", timeout=socket_timeout,
                                   shutdown_timeout=2)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.bind_addr[:2]
        return host, port

    def start(self) -> None:
        """Bind (so a busy port fails here, loudly) and serve in a background thread."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._serve, name="api-server", daemon=True)
        self._thread.start()
        log.info("API server listening on %s:%d", *self.address)

    def _serve(self) -> None:
        try:
            self._server.serve()
        except Exception:  # noqa: BLE001 - logged; the process notices the dead thread
            log.exception("API server stopped unexpectedly")

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
