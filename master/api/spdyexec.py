"""exec, attach and port-forward on a connection upgraded to plain SPDY/3.1
(master.spdyupgrade), as kubectl before 1.30 speaks them.

exec and attach: the client's streams (coxapi.execstreams) are relayed to the
node agent's WebSocket in ``v5.channel.k8s.io``, one channel per stream; v5,
because it can say that stdin has ended (a FIN on the stdin stream). The
agent's error channel carries the exit Status, as v4 wants it on the error
stream. When the agent is done, every output stream is ended, then the
session (GOAWAY); the client closes the connection once it has read it all.

port-forward: the SPDY session of master.api.pftunnel, on the connection
itself rather than inside a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from coxapi import errors, execstreams, spdy
from coxapi import streamproto as sp

from ..spdyupgrade import Upgraded
from . import pftunnel, podexec

log = logging.getLogger(__name__)

STREAM_WAIT = 30.0  # seconds for the client to open its streams (the kubelet's timeout)
LINGER = 10.0  # seconds the client has to close the connection once everything is sent


class ExecRelay:
    """One exec or attach: the client's SPDY session and the agent's WebSocket."""

    def __init__(self, conn: Upgraded, up: ClientConnection, opts: sp.ExecOptions) -> None:
        self.conn, self.up = conn, up
        self.session = spdy.Session()
        self.streams = execstreams.Streams(execstreams.expected(opts))
        self.resize = execstreams.ResizeReader()
        self._ready = asyncio.Event()  # every expected stream is open
        self._stdin_closed = False
        self._lock = asyncio.Lock()  # one writer at a time keeps the SPDY bytes in order

    async def run(self) -> None:
        client = asyncio.ensure_future(self._from_client())
        agent = asyncio.ensure_future(self._from_agent())
        try:
            try:
                done, _ = await asyncio.wait((client, agent),
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (client, agent):
                    t.cancel()
                await asyncio.gather(client, agent, return_exceptions=True)
            if agent in done and agent.exception() is None:  # the process has finished
                for stream_id in self.streams.outputs():
                    self.session.send_data(stream_id, b"", fin=True)
                self.session.go_away()
                await self._flush()
                await self._linger()
            elif agent in done:
                log.info("exec: %s", agent.exception())
        except OSError:
            pass  # the client has gone
        finally:
            self.conn.close()

    async def _flush(self) -> None:
        async with self._lock:
            out = self.session.data_to_send()
            if out:
                await self.conn.write(out)

    async def _linger(self) -> None:
        """Wait for the client to close, so that closing first cannot reset the
        connection under bytes it has still to read."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER):
                while await self.conn.read():
                    pass

    async def _to_agent(self, message: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):  # then the agent's side ends the relay
            await self.up.send(message)

    async def _from_client(self) -> None:
        while data := await self.conn.read():
            try:
                events = self.session.feed(data)
            except spdy.ProtocolError as e:
                log.info("exec: the client broke SPDY: %s", e)
                self.session.go_away(spdy.GOAWAY_PROTOCOL_ERROR)
                await self._flush()
                return
            for event in events:
                if isinstance(event, spdy.GoAway):
                    return
                await self._handle(event)
            await self._flush()

    async def _handle(self, event: spdy.Event) -> None:
        if isinstance(event, spdy.StreamOpened):
            try:
                opened = self.streams.open(event.stream_id, event.headers)
            except errors.ApiError as e:
                log.info("exec stream %d refused: %s", event.stream_id, e)
                self.session.reset(event.stream_id, spdy.PROTOCOL_ERROR)
                return
            self.session.reply(event.stream_id)
            if self.streams.ready:
                self._ready.set()
            if event.fin and opened == execstreams.STDIN:
                await self._close_stdin()
            return
        if isinstance(event, spdy.Data):
            role = self.streams.role(event.stream_id)
            if role == execstreams.STDIN:
                if event.data:
                    await self._to_agent(sp.frame(sp.STDIN, event.data))
                if event.fin:
                    await self._close_stdin()
            elif role == execstreams.RESIZE and event.data:
                try:
                    sizes = self.resize.feed(event.data)
                except ValueError as e:
                    log.info("exec: %s", e)
                    self.session.reset(event.stream_id, spdy.PROTOCOL_ERROR)
                    return
                for message in sizes:
                    await self._to_agent(message)
        elif isinstance(event, spdy.StreamReset) \
                and self.streams.role(event.stream_id) == execstreams.STDIN:
            await self._close_stdin()

    async def _close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            await self._to_agent(sp.close_signal(sp.STDIN))

    async def _from_agent(self) -> None:
        """The agent's output, once the client's streams are all there."""
        async with asyncio.timeout(STREAM_WAIT):
            await self._ready.wait()
        with contextlib.suppress(ConnectionClosed):
            async for message in self.up:
                if not isinstance(message, bytes) or not message:
                    continue
                channel, data = sp.unframe(message)
                stream_id = self.streams.for_channel(channel)
                if stream_id is not None and data:
                    self.session.send_data(stream_id, data)
                    await self._flush()


async def port_forward(conn: Upgraded, at: podexec.PodOnNode, token: str,
                       connect_timeout: float) -> None:
    """Serve the client's port-forward session until it ends."""
    try:
        await pftunnel.Tunnel(at, token, connect_timeout, conn.write).run(conn.read)
    finally:
        conn.close()
