"""One ``kubectl exec`` (or ``attach``) on the agent: the process's Docker stream relayed to
the master's WebSocket (an ASGI ``websocket`` connection, already accepted)
in the channel protocol (coxapi.streamproto), then its exit status on the
error channel. Async on the agent server's event loop: the socket is read and
written without a thread; only the Docker API calls (exit code, resize) run
in the default executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable

from coxapi import streamproto as sp

from .runtime import ExecProcess

log = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

_EXIT_WAIT = 10.0  # seconds for Docker to report the exit code once the stream ended


async def run(proc: ExecProcess, opts: sp.ExecOptions, protocol: str, receive: Receive,
              send: Send, end_stdin: bool = True) -> None:
    """Relay until the process's output ends, then send its status and close;
    a client that goes away first closes the process's stream. ``end_stdin``:
    a client closing stdin ends the process's (not for attach: a container's
    stdin outlives any one attach, and Docker may end the output with it)."""
    loop = asyncio.get_running_loop()
    sock = proc.sock
    sock.setblocking(False)
    demux = None if proc.raw else sp.DockerDemux()
    wanted = {sp.STDOUT: opts.stdout, sp.STDERR: opts.stderr}

    async def output() -> None:
        with contextlib.suppress(OSError):
            while data := await loop.sock_recv(sock, 1 << 16):
                for channel, chunk in ([(sp.STDOUT, data)] if demux is None
                                       else demux.feed(data)):
                    if wanted[channel]:
                        await send({"type": "websocket.send", "bytes": sp.frame(channel, chunk)})

    async def client() -> None:
        while (msg := await receive())["type"] != "websocket.disconnect":
            data = msg.get("bytes")
            if not data:
                continue  # text frames belong to the base64 protocols, not spoken here
            if protocol == sp.V5 and sp.closed_channel(data) is not None:
                if sp.closed_channel(data) == sp.STDIN and opts.stdin and end_stdin:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
                continue
            channel, payload = sp.unframe(data)
            if channel == sp.STDIN and opts.stdin and payload:
                with contextlib.suppress(OSError):  # a process that has exited reads no more
                    await loop.sock_sendall(sock, payload)
            elif channel == sp.RESIZE and opts.tty and (size := sp.resize(payload)):
                await loop.run_in_executor(None, proc.resize, *size)

    out, inp = asyncio.ensure_future(output()), asyncio.ensure_future(client())
    try:
        await asyncio.wait((out, inp), return_when=asyncio.FIRST_COMPLETED)
    finally:
        client_left = not out.done()  # then the process just loses its stream
        for t in (out, inp):
            t.cancel()
        await asyncio.gather(out, inp, return_exceptions=True)
        sock.close()
    if client_left:
        return
    code = await loop.run_in_executor(None, _wait_exit, proc)
    status = sp.exit_status(code, opts.command) if code is not None else \
        sp.failure("the process's exit code is unknown")
    with contextlib.suppress(OSError, RuntimeError):  # the client may have gone meanwhile
        await send({"type": "websocket.send", "bytes": sp.frame(sp.ERROR,
                                                                json.dumps(status).encode())})
        await send({"type": "websocket.close", "code": 1000})


def _wait_exit(proc: ExecProcess) -> int | None:
    deadline = time.monotonic() + _EXIT_WAIT
    while True:
        try:
            code = proc.exit_code()
        except Exception as e:  # noqa: BLE001 - reported to the client as unknown
            log.warning("cannot read an exec's exit code: %s", e)
            return None
        if code is not None or time.monotonic() > deadline:
            return code
        time.sleep(0.02)
