"""One port-forward on the agent: a TCP connection to each requested port of
the pod (at its IP, reachable from the node), relayed over the master's
WebSocket (already accepted) in the port-forward channel protocol
(coxapi.streamproto): data on channel 2i, errors on 2i+1, each channel
opened with its port number. The WebSocket ends when every connection has.
A close signal (``[255, channel]``, as v5 exec has) half-closes that
connection: the client will send nothing more, the pod may still answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

from coxapi import streamproto as sp

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

CONNECT_TIMEOUT = 5.0


async def run(pod_ip: str, pod: str, ports: list[int], receive: Receive, send: Send) -> None:
    async def message(channel: int, data: bytes) -> None:
        await send({"type": "websocket.send", "bytes": sp.frame(channel, data)})

    writers: dict[int, asyncio.StreamWriter] = {}
    pumps: list[asyncio.Future] = []
    for i, port in enumerate(ports):
        await message(2 * i, sp.port_prefix(port))
        await message(2 * i + 1, sp.port_prefix(port))
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(pod_ip, port),
                                                    CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            await message(2 * i + 1, connect_failure(pod, pod_ip, port, e).encode())
            continue
        writers[2 * i] = writer
        pumps.append(asyncio.ensure_future(_copy(reader, 2 * i, message)))

    async def client() -> None:
        while (msg := await receive())["type"] != "websocket.disconnect":
            data = msg.get("bytes")
            if not data:
                continue
            if (closed := sp.closed_channel(data)) is not None:  # the client sends no more
                if (writer := writers.get(closed)) is not None and writer.can_write_eof():
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                continue
            channel, payload = sp.unframe(data)
            writer = writers.get(channel)
            if writer is not None and payload:
                writer.write(payload)
                with contextlib.suppress(OSError):
                    await writer.drain()

    inp = asyncio.ensure_future(client())
    try:
        if pumps:
            done = asyncio.ensure_future(asyncio.gather(*pumps, return_exceptions=True))
            await asyncio.wait((done, inp), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (inp, *pumps):
            t.cancel()
        await asyncio.gather(inp, *pumps, return_exceptions=True)
        for w in writers.values():
            w.close()
    with contextlib.suppress(OSError, RuntimeError):  # the client may be gone already
        await send({"type": "websocket.close", "code": 1000})


def connect_failure(pod: str, pod_ip: str, port: int, e: BaseException) -> str:
    """Worded as the kubelet's, which kubectl shows after "an error occurred forwarding"."""
    errno = getattr(e, "errno", None)
    reason = os.strerror(errno).lower() if errno else (str(e) or "timed out")
    return (f"error forwarding port {port} to pod {pod}: failed to connect to {pod_ip}:{port}: "
            f"dial tcp {pod_ip}:{port}: connect: {reason}")


async def _copy(reader: asyncio.StreamReader, channel: int,
                message: Callable[[int, bytes], Awaitable[None]]) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(1 << 16):
            await message(channel, data)
