"""The pod log subresource: a streaming proxy to the node agent that runs the pod.

Served on the API server's event loop (master.asgi), not by a worker thread:
a follower (``follow=true``) may stay open for hours, and a thousand of them
must not take the thread pool. The agent's response is read with asyncio
streams and parsed by httptools (chunked or delimited by length or close);
its body goes to the client chunk by chunk as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httptools

from coxapi import errors, logoptions

from ..objects import ObjectStore

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

_READ_TIMEOUT = 30.0  # seconds without data before a log that does not follow is given up
_MAX_ERROR_BODY = 1 << 20  # bytes of an agent's error answer read to report it
HEADERS = [(b"content-type", b"text/plain"), (b"cache-control", b"no-cache, private")]


def agent_address(node: dict[str, Any]) -> tuple[str, int]:
    status = node.get("status") or {}
    ip = next((a.get("address") for a in status.get("addresses") or []
               if a.get("type") == "InternalIP"), None)
    if not ip:
        raise errors.Unavailable(f'node "{node["metadata"]["name"]}" reports no InternalIP address')
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 10250)
    return ip, int(port)


def agent_url(node: dict[str, Any], tls: bool) -> str:
    ip, port = agent_address(node)
    host = f"[{ip}]" if ":" in ip else ip
    return f"{'https' if tls else 'http'}://{host}:{port}"


def choose_container(pod: dict[str, Any], requested: str | None) -> str:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    pod_name = pod["metadata"]["name"]
    if requested:
        init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
        if requested not in names + init:
            raise errors.BadRequest(f'container {requested} is not valid for pod {pod_name}')
        return requested
    if len(names) == 1:
        return names[0]
    raise errors.BadRequest(f"a container name must be specified for pod {pod_name}, "
                            f"choose one of: [{' '.join(str(n) for n in names)}]")


class _Response:
    """httptools' callbacks: the status and body chunks of the agent's answer."""

    def __init__(self) -> None:
        self.headers_done = self.complete = False
        self.chunks: list[bytes] = []

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


class _Upstream:
    """One request to a node agent and its response, read as it arrives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 read_timeout: float | None) -> None:
        self.reader, self.writer, self.read_timeout = reader, writer, read_timeout
        self.response = _Response()
        self.parser = httptools.HttpResponseParser(self.response)
        self.eof = False

    async def read(self) -> bytes:
        """The next body bytes (after the headers), b"" once the body has ended."""
        r = self.response
        while not r.chunks and not r.complete and not self.eof:
            data = await asyncio.wait_for(self.reader.read(1 << 16), self.read_timeout)
            if not data:
                self.eof = True
                break
            self.parser.feed_data(data)
        return r.take()

    async def headers(self) -> int:
        r = self.response
        while not r.headers_done:
            data = await asyncio.wait_for(self.reader.read(1 << 16), self.read_timeout)
            if not data:
                raise ConnectionError("the agent closed the connection before answering")
            self.parser.feed_data(data)
        return self.parser.get_status_code()

    def close(self) -> None:
        self.writer.close()


async def _connect(host: str, port: int, path: str, token: str | None,
                   connect_timeout: float, read_timeout: float | None,
                   tls: ssl.SSLContext | None) -> _Upstream:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None),
        connect_timeout)
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {hostport}\r\n{auth}"
                 f"Connection: close\r\n\r\n".encode())
    return _Upstream(reader, writer, read_timeout)


async def _error(up: _Upstream, status: int) -> errors.ApiError:
    """The agent's error answer as the ApiError to return to the client."""
    body = b""
    with contextlib.suppress(OSError, TimeoutError, httptools.HttpParserError):
        while len(body) < _MAX_ERROR_BODY and (data := await up.read()):
            body += data
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return errors.ApiError.from_status(doc, status)
    return errors.ApiError.from_status({"code": status,
                                        "message": f"the node agent answered {status}"})


async def serve(objects: ObjectStore, namespace: str, name: str, query: Mapping[str, str],
                token_for: Callable[[str], str], connect_timeout: float, send: Send,
                receive: Receive, tls: ssl.SSLContext | None = None) -> None:
    """Proxy one log request. An ``ApiError`` raised before the response
    started is the caller's to answer as a Status. ``token_for(node)``: the
    credential for that node's agent (signed by the masters, for that node
    only: an agent cannot replay it against another)."""
    opts = logoptions.parse(query, time.time())  # a bad option is a 400 before any I/O
    loop = asyncio.get_running_loop()
    pod = await loop.run_in_executor(None, objects.get, "Pod", namespace, name)
    container = choose_container(pod, query.get("container"))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.BadRequest(f'pod "{name}" is not scheduled to a node yet; no logs')
    node = await loop.run_in_executor(None, objects.get, "Node", None, node_name)
    host, port = agent_address(node)
    token = await loop.run_in_executor(None, token_for, node_name)
    follow = opts.follow
    path = "/containerLogs/" + "/".join(quote(p, safe="") for p in (namespace, name, container))
    passed = {k: query[k] for k in logoptions.RELAYED if k in query}
    if passed:
        path += "?" + urlencode(passed)
    try:
        up = await _connect(host, port, path, token, connect_timeout,
                            None if follow else _READ_TIMEOUT, tls)
        status = await up.headers()
    except (OSError, TimeoutError, httptools.HttpParserError) as e:
        raise errors.Unavailable(f'cannot reach the node agent of node "{node_name}" at '
                                 f"{agent_url(node, tls is not None)}: {type(e).__name__}") \
            from None
    try:
        if status >= 400:
            raise await _error(up, status)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await _pump(up, send, receive)
    finally:
        up.close()


async def _pump(up: _Upstream, send: Send, receive: Receive) -> None:
    """Copy the agent's body to the client until either side ends."""

    async def copy() -> None:
        with contextlib.suppress(OSError, TimeoutError, httptools.HttpParserError):
            while data := await up.read():
                await send({"type": "http.response.body", "body": data, "more_body": True})

    async def until_disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    copying = asyncio.ensure_future(copy())
    watching = asyncio.ensure_future(until_disconnected())
    try:
        await asyncio.wait((copying, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        copying.cancel()
        await asyncio.gather(copying, watching, return_exceptions=True)
    await send({"type": "http.response.body", "body": b"", "more_body": False})
