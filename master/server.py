"""The HTTP server of a master: uvicorn (httptools, uvloop) serving the ASGI
app (master.asgi) on one listening socket.

uvicorn runs in a thread of its own with its own event loop, so that
``Master.start`` / ``stop`` keep their shape, and in-process tests can run a
master beside their own code. Watches live on that loop; request/response
calls run in the app's bounded pool of WSGI threads. TLS is uvicorn's own
(``ssl_certfile``/``ssl_keyfile``) on the same socket; the watch stream's
direct writes (master.api.watch) go to the TLS transport just the same.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

import uvicorn
import uvloop

from . import connguard, spdyupgrade, wsprotocol

log = logging.getLogger(__name__)

_START_TIMEOUT = 10.0


class ApiServer:
    def __init__(self, app: Any, host: str, port: int, *, tls: tuple[str, str] | None,
                 header_timeout: float = connguard.HEADER_TIMEOUT, **uvicorn_options: Any) -> None:
        """``app``: an ASGI app; one with ``shutdown()`` (master.asgi.ApiApp) is
        told first when the server stops, so its streams end promptly.
        ``tls``: (certificate file, key file), or None for plain HTTP; always
        given, so plain HTTP is never an accident.
        ``header_timeout``: seconds a request's headers may take (master.connguard)."""
        self.app = app
        self._host, self._port = host, port
        self.scheme = "https" if tls else "http"
        if tls:
            uvicorn_options.update(ssl_certfile=tls[0], ssl_keyfile=tls[1])
        self._config = uvicorn.Config(
            app, interface="asgi3",
            # SPDY/3.1 upgrades: exec and port-forward of kubectl < 1.30 (master.spdyupgrade)
            http=spdyupgrade.with_takeover(connguard.guarded_protocol(header_timeout)),
            ws=wsprotocol.WebSocketProtocol,  # exec, port-forward (master.api.podexec, pftunnel)
            lifespan="off",
            # served directly, not behind a proxy: a caller's X-Forwarded-For is not
            # its address (unauthenticated callers are budgeted by address)
            proxy_headers=False,
            log_config=None, access_log=False, server_header=False,
            timeout_keep_alive=30, timeout_graceful_shutdown=2, backlog=4096,
            **uvicorn_options)
        self._server = uvicorn.Server(self._config)
        self._sock: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._address is not None, "the server is not started"
        return self._address

    def start(self) -> None:
        """Bind (so a busy port fails here, loudly), then serve in a background
        thread; returns once the server accepts connections."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            connguard.set_keepalive(sock)  # inherited by every accepted connection
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._address = sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name="api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start: {self._error!r}")
            time.sleep(0.01)
        log.info("API server listening on %s://%s:%d", self.scheme, *self.address)

    def _serve(self) -> None:
        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            assert self._sock is not None  # bound by start()
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as e:  # noqa: BLE001 - logged; start() or the process notices
            self._error = e
            log.exception("API server stopped unexpectedly")
        finally:
            tasks = asyncio.all_tasks(loop)  # e.g. the watch broadcaster's ticker
            for t in tasks:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """End the streams, stop accepting, let requests in flight finish (2 s at most)."""
        shutdown = getattr(self.app, "shutdown", None)
        if shutdown is not None:
            shutdown()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
