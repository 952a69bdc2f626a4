"""The client side of ``pods/NAME/exec`` over WebSocket (what ``cox exec`` and
``cox cp`` speak; kubectl speaks the same): connect to a master, pump stdin
in, stdout and stderr out, and read the exit code off the error channel.
``cox port-forward`` opens its WebSockets here too (``forward_path``)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO, cast
from urllib.parse import quote, urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from . import errors
from . import streamproto as sp
from .client import Client
from .serialtls import SerialTLSContext


def exec_path(namespace: str, pod: str, command: list[str], *, container: str | None,
              stdin: bool, stdout: bool = True, stderr: bool = True, tty: bool = False) -> str:
    params: list[tuple[str, str]] = [("command", c) for c in command]
    params += [(k, "true") for k, on in (("stdin", stdin), ("stdout", stdout),
                                         ("stderr", stderr and not tty), ("tty", tty)) if on]
    if container:
        params.append(("container", container))
    return (f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec?"
            + urlencode(params))


def forward_path(namespace: str, pod: str, port: int) -> str:
    return (f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}"
            f"/portforward?ports={port}")


def open_stream(client: Client, path: str,
                protocols: tuple[str, ...] = sp.PROTOCOLS) -> ClientConnection:
    """A WebSocket to the first master that answers; a refusal is its ApiError."""
    last: Exception | None = None
    for server in client.servers:
        url = "ws" + server.removeprefix("http") + path
        # the connection's reader thread and its writers never share OpenSSL at once
        ctx = cast(ssl.SSLContext, SerialTLSContext(ssl.create_default_context(
            cafile=client.ca_file))) if url.startswith("wss:") else None
        headers = {"Authorization": client.authorization} if client.authorization else {}
        try:
            return connect(url, subprotocols=list(protocols),  # type: ignore[arg-type]
                           additional_headers=headers, ssl=ctx, max_size=None,
                           compression=None, open_timeout=client.timeout, proxy=None)
        except InvalidStatus as e:
            body = e.response.body or b""
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {"message": body.decode(errors="replace")}
            raise errors.ApiError.from_status(doc if isinstance(doc, dict) else {},
                                              e.response.status_code) from None
        except (OSError, TimeoutError, InvalidHandshake) as e:
            last = e
    raise errors.ClusterUnreachable(f"cannot open a stream to any master: "
                                    f"{type(last).__name__}: {last}")


def run(conn: ClientConnection, stdin: Iterable[bytes] | None, stdout: BinaryIO,
        stderr: BinaryIO, on_open: Callable[[ClientConnection], None] | None = None) -> int:
    """Pump until the process ends; its exit code. ``stdin`` (chunks) is sent
    from a thread and closed at its end (v5; with v4 the process never sees
    the end). A failure other than an exit code raises its ApiError."""
    status: dict | None = None
    with conn:
        if stdin is not None:
            threading.Thread(target=_feed, args=(conn, stdin), name="exec-stdin",
                             daemon=True).start()
        if on_open is not None:
            on_open(conn)
        try:
            for message in conn:
                if not isinstance(message, bytes) or not message:
                    continue
                channel, data = sp.unframe(message)
                if channel == sp.STDOUT:
                    stdout.write(data)
                    stdout.flush()
                elif channel == sp.STDERR:
                    stderr.write(data)
                    stderr.flush()
                elif channel == sp.ERROR:
                    status = json.loads(data)
        except ConnectionClosed:
            pass
    if status is None:
        raise errors.InternalError("the stream ended without the process's exit status")
    code = sp.exit_code(status)
    if code is None:
        raise errors.ApiError.from_status(status)
    return code


def _feed(conn: ClientConnection, stdin: Iterable[bytes]) -> None:
    try:
        for chunk in stdin:
            conn.send(sp.frame(sp.STDIN, chunk))
        if conn.subprotocol == sp.V5:
            conn.send(sp.close_signal(sp.STDIN))
    except ConnectionClosed:
        pass
