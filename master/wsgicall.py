"""One request/response call of a WSGI app from the event loop, in one hop.

a2wsgi streams both ways: its worker thread pulls the body from the loop
and pushes the status line and every chunk back, each a blocking round trip
through the loop (about four per request), and every one of those waits for
the GIL among the master's threads. For a response that is not a stream this
reads the body on the loop first, runs the app once in a worker thread to the
end of its answer, and sends that: one hop there, one back. Streamed
responses (a followed pod log) stay with a2wsgi. A ``direct`` handler, when
given, answers first from the body alone (master.api.directcreate), the app
only when it declines; its async form (``direct_async``) runs on the loop
first and falls back to a worker thread when a step would wait.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from a2wsgi.wsgi import build_environ

from coxapi import errors

from .api.params import request_too_large
from .api.responses import status_parts
from .workerpool import WorkerPool

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Direct = Callable[[bytes], Answer]
DirectAsync = Callable[[bytes], Awaitable[Answer | None]]


class BodyTooLarge(Exception):
    """The body (declared or read so far) is over the limit."""


def declared_length(scope: dict[str, Any]) -> int | None:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None  # the HTTP parser refuses these before the app
    return None


async def read_body(receive: Any, limit: int) -> bytes:
    """The request body; ``BodyTooLarge`` as soon as more than ``limit`` bytes
    arrive (a chunked body has no length to check first), so a hostile client
    costs at most ``limit`` bytes of memory and the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


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


def request_timeout(seconds: float | None) -> errors.ApiError:
    err = errors.ApiError(f"the request body did not arrive within {seconds} seconds")
    err.code, err.reason = 408, "Timeout"
    return err


async def _refuse(send: Any, err: errors.ApiError) -> None:
    """Answer ``err`` and close the connection: the rest of the body is never read."""
    code, headers, payload = status_parts(err)
    await send({"type": "http.response.start", "status": code,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers]
                + [(b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


async def call(app: WsgiApp, pool: WorkerPool, scope: dict[str, Any], receive: Any,
               send: Any, max_body: int, body_timeout: float | None = None,
               direct: Direct | None = None, direct_async: DirectAsync | None = None) -> None:
    """``body_timeout``: seconds the whole body may take to arrive (408 after).
    ``direct``: answers in place of ``app`` (in the worker thread);
    ``direct_async``: before it, on the loop, unless it answers None."""
    if (declared_length(scope) or 0) > max_body:
        return await _refuse(send, errors.RequestEntityTooLarge(request_too_large(max_body)))
    try:
        async with asyncio.timeout(body_timeout):  # no task per request, as wait_for makes
            body = await read_body(receive, max_body)
    except BodyTooLarge:
        return await _refuse(send, errors.RequestEntityTooLarge(request_too_large(max_body)))
    except TimeoutError:
        return await _refuse(send, request_timeout(body_timeout))
    try:
        answer = await direct_async(body) if direct_async is not None else None
        if answer is not None:
            code, headers, payload = answer
        elif direct is not None:
            code, headers, payload = await pool.run(direct, body)
        else:
            environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
            environ["wsgi.errors"] = sys.stderr
            code, headers, payload = await pool.run(run, app, environ)
    except Exception:  # noqa: BLE001 - Flask answers its own errors; this is a bug
        log.exception("the WSGI app failed on %s", scope["path"])
        code, text_headers, payload = status_parts(errors.InternalError(
            "an internal error occurred; see the master's log"))
        headers = [(k.lower().encode(), v.encode()) for k, v in text_headers]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
