"""One request/response call of a WSGI app from the event loop, in one hop.

a2wsgi streams both ways: its worker thread pulls the body from the loop
and pushes the status line and every chunk back, each a blocking round trip
through the loop (about four per request), and every one of those waits for
the GIL among the master's threads. For a response that is not a stream this
reads the body on the loop first, runs the app once in a worker thread to the
end of its answer, and sends that: one hop there, one back. Streamed
responses (a followed pod log) stay with a2wsgi.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from a2wsgi.wsgi import build_environ

from coxapi import errors

from .api.responses import status_parts

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def read_body(receive: Any, limit: int) -> bytes:
    """The request body, cut at ``limit + 1`` bytes (the app answers a body
    over its limit with 413, so the rest need not be held)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        if chunk and size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body[:limit + 1]


def run(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    """Call ``app`` and collect its whole answer (runs in a worker thread)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return chunks.append

    chunks: list[bytes] = []
    iterable = app(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = started
    return (int(status.split(" ", 1)[0]),
            [(k.strip().lower().encode("latin-1"), v.strip().encode("latin-1"))
             for k, v in headers],
            b"".join(chunks))


async def call(app: WsgiApp, executor: Executor, scope: dict[str, Any], receive: Any,
               send: Any, max_body: int) -> None:
    body = await read_body(receive, max_body)
    environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
    environ["wsgi.errors"] = sys.stderr
    try:
        code, headers, payload = await asyncio.get_running_loop().run_in_executor(
            executor, run, app, environ)
    except Exception:  # noqa: BLE001 - Flask answers its own errors; this is a bug
        log.exception("the WSGI app failed on %s", scope["path"])
        code, text_headers, payload = status_parts(errors.InternalError(
            "an internal error occurred; see the master's log"))
        headers = [(k.lower().encode(), v.encode()) for k, v in text_headers]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
