"""``pods/NAME/portforward`` as kubectl 1.30+ speaks it: a SPDY/3.1 session
tunnelled in a WebSocket (subprotocol ``SPDY/3.1+portforward.k8s.io``,
binary messages carrying the SPDY bytes), with ``portforward.k8s.io``
stream pairs inside (coxapi.pfstreams). Where Kubernetes' API server passes
the tunnel on to the kubelet, the master ends the SPDY session itself and
opens, for each forwarded connection, one port-forward WebSocket to the
pod's node agent (node.portforward): the agent leg stays the one protocol.

kubectl before 1.30 speaks the same SPDY session on the connection itself
(an HTTP/1.1 upgrade to ``SPDY/3.1``, master.spdyupgrade): ``Tunnel`` reads and
writes bytes, whichever carries them.

On the API server's event loop (master.asgi), like exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from coxapi import errors, pfstreams, spdy
from coxapi import streamproto as sp

from . import podexec

log = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]
Write = Callable[[bytes], Awaitable[None]]
Read = Callable[[], Awaitable[bytes]]  # b"": the client has finished
_END = None  # on a connection's queue: the client finished sending


class Tunnel:
    """One client's SPDY session and the forwarded connections in it."""

    def __init__(self, at: podexec.PodOnNode, token: str, connect_timeout: float,
                 write: Write) -> None:
        self.at, self.token, self.connect_timeout = at, token, connect_timeout
        self._write = write
        self.session = spdy.Session()
        self.pairs = pfstreams.Pairs()
        self._lock = asyncio.Lock()  # one writer at a time keeps the SPDY bytes in order
        self._inbox: dict[int, asyncio.Queue[bytes | None]] = {}  # data stream -> client bytes
        self._tasks: set[asyncio.Task] = set()

    async def flush(self) -> None:
        async with self._lock:
            out = self.session.data_to_send()
            if out:
                await self._write(out)

    async def run(self, read: Read) -> None:
        try:
            while data := await read():
                try:
                    events = self.session.feed(data)
                except spdy.ProtocolError as e:
                    log.info("port-forward to pod %s/%s: %s", self.at.namespace, self.at.name, e)
                    self.session.go_away(spdy.GOAWAY_PROTOCOL_ERROR)
                    await self.flush()
                    return
                if any(isinstance(e, spdy.GoAway) for e in events):
                    return
                for event in events:
                    self._handle(event)
                await self.flush()
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _handle(self, event: spdy.Event) -> None:
        if isinstance(event, spdy.StreamOpened):
            try:
                pair = self.pairs.add(event.stream_id, event.headers)
            except errors.ApiError as e:
                log.info("port-forward stream %d refused: %s", event.stream_id, e)
                self.session.reset(event.stream_id, spdy.PROTOCOL_ERROR)
                return
            self.session.reply(event.stream_id)
            if pair is not None:
                self._inbox[pair.data] = asyncio.Queue()
                task = asyncio.ensure_future(self._connection(pair))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        elif isinstance(event, spdy.Data):
            inbox = self._inbox.get(event.stream_id)
            if inbox is not None:
                if event.data:
                    inbox.put_nowait(event.data)
                if event.fin:
                    inbox.put_nowait(_END)
        elif isinstance(event, spdy.StreamReset) and event.stream_id in self._inbox:
            self._inbox[event.stream_id].put_nowait(_END)

    async def _connection(self, pair: pfstreams.Pair) -> None:
        """Relay one forwarded connection through the agent; always ends both streams."""
        try:
            plan = podexec.forward_plan(self.at, [pair.port])
            try:
                up = await podexec.open_agent(plan, sp.V4, self.token, self.connect_timeout)
            except errors.ApiError as e:
                self.session.send_data(pair.error, (f"error forwarding port {pair.port} to "
                                                    f"pod {self.at.name}: {e}").encode())
                return
            try:
                await self._relay(pair, up)
            finally:
                await up.close()
        finally:
            self._inbox.pop(pair.data, None)
            self.session.send_data(pair.data, b"", fin=True)
            self.session.send_data(pair.error, b"", fin=True)
            with contextlib.suppress(OSError, RuntimeError):  # the client may be gone
                await self.flush()

    async def _relay(self, pair: pfstreams.Pair, up: ClientConnection) -> None:
        inbox = self._inbox[pair.data]

        async def upstream() -> None:
            while (chunk := await inbox.get()) is not _END:
                await up.send(sp.frame(0, chunk))
            await up.send(sp.close_signal(0))  # the agent half-closes the pod connection

        async def down() -> None:
            seen: set[int] = set()  # each channel's first message is only its port number
            async for message in up:
                if not isinstance(message, bytes) or not message:
                    continue
                channel, data = sp.unframe(message)
                if channel not in seen:
                    seen.add(channel)
                    continue
                if data:
                    self.session.send_data(pair.data if channel == 0 else pair.error, data)
                    await self.flush()

        ups = asyncio.ensure_future(upstream())
        try:
            with contextlib.suppress(ConnectionClosed):
                await down()
        finally:
            ups.cancel()
            await asyncio.gather(ups, return_exceptions=True)


async def serve(at: podexec.PodOnNode, token: str, connect_timeout: float, receive: Receive,
                send: Send) -> None:
    """Accept the client's WebSocket and serve its SPDY session until it ends."""
    await send({"type": "websocket.accept", "subprotocol": pfstreams.TUNNEL_PROTOCOL})

    async def write(data: bytes) -> None:
        await send({"type": "websocket.send", "bytes": data})

    async def read() -> bytes:
        while (msg := await receive())["type"] != "websocket.disconnect":
            if msg.get("bytes"):  # client-go's tunnel sends binary messages only
                return msg["bytes"]
        return b""

    try:
        await Tunnel(at, token, connect_timeout, write).run(read)
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "websocket.close", "code": 1000})
