"""``pods/NAME/exec``, ``attach`` and ``portforward`` over WebSocket: checked
here, then relayed message by message to the node agent of the pod's node
(node.agentstreams), which runs the process or connects to the pod's port.
The channel protocol (coxapi.streamproto) passes through untouched: the
master offers the agent the one subprotocol it agreed with the client, so
either side's messages mean the same on the other.

On the API server's event loop (master.asgi), like log follows. The agent
is reached with a token the masters signed for that node only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from coxapi import errors
from coxapi import streamproto as sp

from ..objects import ObjectStore
from .podlogs import agent_address, agent_url, choose_container

log = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]

SUBRESOURCES = ("exec", "attach", "portforward")  # served as WebSockets only
_MAX_MESSAGE = 1 << 24
_HANDSHAKE_SECONDS = 10.0  # beyond the connect timeout: the agent may fetch the masters' keys


@dataclass(frozen=True)
class Plan:
    """Where an exec goes: the agent's endpoint and who the agent is."""

    node: str
    host: str
    port: int
    path: str  # with the client's query
    agent_url: str
    protocols: tuple[str, ...]  # the subprotocols spoken, preferred first
    tls: ssl.SSLContext | None  # None: the agent is spoken to in clear


def _options(query_string: str) -> Mapping[str, list[str]]:
    return parse_qs(query_string, keep_blank_values=True)


@dataclass(frozen=True)
class PodOnNode:
    """A running pod and the node agent that runs it."""

    namespace: str
    name: str
    node: str
    host: str
    port: int
    agent_url: str
    pod: dict
    pod_ip: str
    tls: ssl.SSLContext | None  # how the agent is reached: None in clear


async def locate(objects: ObjectStore, namespace: str, name: str, subresource: str,
                 tls: ssl.SSLContext | None) -> PodOnNode:
    loop = asyncio.get_running_loop()
    pod = await loop.run_in_executor(None, objects.get, "Pod", namespace, name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.BadRequest(f'pod "{name}" is not scheduled to a node yet')
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise errors.BadRequest(f"cannot {subresource} into a container in a completed pod; "
                                f"current phase is {phase}")
    node = await loop.run_in_executor(None, objects.get, "Node", None, node_name)
    host, port = agent_address(node)
    pod_ip = (pod.get("status") or {}).get("podIP") or ""
    if subresource == "portforward" and (not pod_ip or phase != "Running"):
        raise errors.BadRequest(f'pod "{name}" is not running (phase {phase})')
    return PodOnNode(namespace, name, node_name, host, port, agent_url(node, tls is not None),
                     pod, pod_ip, tls)


def forward_plan(at: PodOnNode, ports: list[int]) -> Plan:
    """The agent's port-forward WebSocket to ``ports`` of the pod."""
    path = "/portforward/" + "/".join(quote(p, safe="") for p in (at.namespace, at.name))
    query_string = urlencode([("ports", str(p)) for p in ports] + [("podIP", at.pod_ip)])
    return Plan(at.node, at.host, at.port, f"{path}?{query_string}", at.agent_url,
                sp.PORTFORWARD_PROTOCOLS, at.tls)


async def plan(objects: ObjectStore, namespace: str, name: str, subresource: str,
               query_string: str, tls: ssl.SSLContext | None) -> Plan:
    """Check the request (a 4xx before any I/O for bad options) and find the pod's agent."""
    query = _options(query_string)
    if subresource == "portforward":
        ports = sp.forward_ports(query)
    else:
        opts = sp.exec_options(query, need_command=subresource == "exec")
    at = await locate(objects, namespace, name, subresource, tls)
    if subresource == "portforward":
        return forward_plan(at, ports)
    container = choose_container(at.pod, opts.container)
    path = f"/{subresource}/" + "/".join(quote(p, safe="") for p in (namespace, name, container))
    return Plan(at.node, at.host, at.port, f"{path}?{query_string}", at.agent_url, sp.PROTOCOLS,
                at.tls)


async def open_agent(p: Plan, protocol: str, token: str, connect_timeout: float) -> ClientConnection:
    host = f"[{p.host}]" if ":" in p.host else p.host
    try:
        return await connect(f"{'wss' if p.tls else 'ws'}://{host}:{p.port}{p.path}",
                             subprotocols=[protocol],  # type: ignore[list-item]
                             ssl=p.tls,
                             additional_headers={"Authorization": f"Bearer {token}"},
                             open_timeout=connect_timeout + _HANDSHAKE_SECONDS, max_size=_MAX_MESSAGE,
                             compression=None, proxy=None)
    except InvalidStatus as e:
        raise _agent_error(e.response.status_code, bytes(e.response.body or b"")) from None
    except (OSError, TimeoutError, InvalidHandshake) as e:
        raise errors.Unavailable(f'cannot reach the node agent of node "{p.node}" at '
                                 f"{p.agent_url}: {type(e).__name__}") from None


def _agent_error(code: int, body: bytes) -> errors.ApiError:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return errors.ApiError.from_status(doc, code)
    return errors.ApiError.from_status({"code": code, "message": f"the node agent answered {code}"})


async def serve(p: Plan, subprotocols: list[str], token_for: Callable[[str], str],
                connect_timeout: float, receive: Receive, send: Send) -> None:
    """Connect to the agent, accept the client's WebSocket, relay both ways until
    either ends. An ``ApiError`` raised here comes before the WebSocket is
    accepted: the caller answers it as a Status."""
    protocol = next((name for name in p.protocols if name in subprotocols), None)
    if protocol is None:
        raise errors.BadRequest(f"a WebSocket subprotocol is needed: one of "
                                f"{', '.join(p.protocols)}")
    token = await asyncio.get_running_loop().run_in_executor(None, token_for, p.node)
    up = await open_agent(p, protocol, token, connect_timeout)
    try:
        await send({"type": "websocket.accept", "subprotocol": protocol})
        await _relay(up, receive, send)
    finally:
        await up.close()


async def _relay(up: ClientConnection, receive: Receive, send: Send) -> None:
    async def down() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in up:
                key = "bytes" if isinstance(message, bytes) else "text"
                await send({"type": "websocket.send", key: message})

    async def upstream() -> None:
        while (msg := await receive())["type"] != "websocket.disconnect":
            data = msg.get("bytes")
            await up.send(data if data is not None else msg.get("text") or "")

    downs, ups = asyncio.ensure_future(down()), asyncio.ensure_future(upstream())
    try:
        await asyncio.wait((downs, ups), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (downs, ups):
            t.cancel()
        await asyncio.gather(downs, ups, return_exceptions=True)
    with contextlib.suppress(OSError, RuntimeError):  # the client may be gone already
        await send({"type": "websocket.close", "code": 1000})


def upgrade_required(subresource: str) -> errors.ApiError:
    """What a plain HTTP request gets (kubectl's SPDY fallback among them)."""
    protocols = sp.PORTFORWARD_PROTOCOLS if subresource == "portforward" else sp.PROTOCOLS
    return errors.BadRequest(f"Upgrade request required: {subresource} is served over "
                             f"WebSocket ({', '.join(protocols)}) only")
