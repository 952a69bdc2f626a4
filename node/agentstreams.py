"""The agent's WebSocket endpoints, which only a master may open (the same
master-signed token as ``/containerLogs``), in the protocol the master
negotiated with its client: ``/exec/{ns}/{pod}/{container}`` with kubectl's
exec query (``command``, ``stdin``, ``stdout``, ``stderr``, ``tty``), the same
for ``/attach/…`` without a command (the container's main process), and
``/portforward/{ns}/{pod}?ports=…&podIP=…`` (the master says where the pod is).

``AgentApp`` is the ASGI app of the agent's server: these WebSockets, and the
Flask app (logs, metrics) for everything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from a2wsgi import WSGIMiddleware
from flask import Flask

from coxapi import errors
from coxapi import streamproto as sp

from . import execsession, podspec, portforward
from .logserver import Authenticator, find_container
from .runtime import ContainerInfo, Runtime, RuntimeFailure

log = logging.getLogger(__name__)

Scope = dict[str, Any]


def _bearer(scope: Scope) -> str:
    for k, v in scope.get("headers", ()):
        if k == b"authorization":
            value = v.decode("latin-1")
            return value[7:].strip() if value.lower().startswith("bearer ") else ""
    return ""


async def deny(send: Any, e: errors.ApiError) -> None:
    """Refuse a WebSocket before accepting it, with a Status as the HTTP answer."""
    body = json.dumps(e.to_status()).encode()
    await send({"type": "websocket.http.response.start", "status": e.code,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "websocket.http.response.body", "body": body})


class AgentApp:
    def __init__(self, flask_app: Flask, runtime: Runtime,
                 list_containers: Callable[[], list[ContainerInfo]],
                 authenticate: Authenticator, threads: int = 16) -> None:
        self.wsgi: Any = WSGIMiddleware(flask_app, workers=threads)  # type: ignore[arg-type]
        self.runtime, self.list_containers = runtime, list_containers
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await self.wsgi(scope, receive, send)
        await receive()  # websocket.connect
        try:
            loop = asyncio.get_running_loop()
            parts = [unquote(p) for p in scope["path"].split("/")[1:]]
            if not await loop.run_in_executor(None, self.authenticate, _bearer(scope)):
                raise errors.Unauthorized("Unauthorized")
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if len(parts) == 4 and parts[0] in ("exec", "attach"):
                await self._exec(parts[0], parts[1:], query, scope, receive, send)
            elif len(parts) == 3 and parts[0] == "portforward":
                await self._portforward(parts[1], parts[2], query, scope, receive, send)
            else:
                raise errors.NotFound(f"no such endpoint: {scope['path']}")
        except errors.ApiError as e:
            await deny(send, e)

    async def _portforward(self, namespace: str, pod: str, query: dict[str, list[str]],
                           scope: Scope, receive: Any, send: Any) -> None:
        protocol = next((p for p in scope.get("subprotocols") or []
                         if p in sp.PORTFORWARD_PROTOCOLS), None)
        if protocol is None:
            raise errors.BadRequest(f"a WebSocket subprotocol is needed: one of "
                                    f"{', '.join(sp.PORTFORWARD_PROTOCOLS)}")
        ports = sp.forward_ports(query)
        pod_ip = next(iter(query.get("podIP") or []), "")
        containers = await asyncio.get_running_loop().run_in_executor(None, self.list_containers)
        if not pod_ip or not any(c.running and c.labels.get(podspec.LABEL_POD_NAMESPACE) ==
                                 namespace and c.labels.get(podspec.LABEL_POD_NAME) == pod
                                 for c in containers):
            raise errors.BadRequest(f'pod "{pod}" is not running on this node')
        await send({"type": "websocket.accept", "subprotocol": protocol})
        await portforward.run(pod_ip, pod, ports, receive, send)

    async def _exec(self, verb: str, parts: list[str], query: dict[str, list[str]],
                    scope: Scope, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        protocol = sp.negotiate(scope.get("subprotocols") or [])
        if protocol is None:
            raise errors.BadRequest(f"a WebSocket subprotocol is needed: one of "
                                    f"{', '.join(sp.PROTOCOLS)}")
        opts = sp.exec_options(query, need_command=verb == "exec")
        namespace, pod, container = parts
        found = find_container(await loop.run_in_executor(None, self.list_containers),
                               namespace, pod, container, previous=False)
        if found is None or not found.running:
            raise errors.BadRequest(f'container "{container}" in pod "{pod}" is not running '
                                    "on this node")
        try:
            proc = await (loop.run_in_executor(None, self.runtime.exec_open, found.id,
                                               opts.command, opts.stdin, opts.tty)
                          if verb == "exec" else
                          loop.run_in_executor(None, self.runtime.attach_open, found.id,
                                               opts.stdin))
        except RuntimeFailure as e:
            raise errors.InternalError(f"cannot {verb} to container {container}: {e}") from None
        log.debug("%s in %s/%s/%s", verb, namespace, pod, container)
        await send({"type": "websocket.accept", "subprotocol": protocol})
        await execsession.run(proc, opts, protocol, receive, send, end_stdin=verb == "exec")
