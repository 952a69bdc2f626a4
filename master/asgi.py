"""The ASGI application of a master: the one entry behind its listening socket.

Streams are async handlers on the event loop and cost no thread: watches
(``GET`` on a resource collection with ``watch=true|1``, from the watch cache),
pod logs (``pods/NAME/log``, proxied from the node agent, followed or not)
and the health paths (so they answer while every worker thread is busy).
Everything else goes to the Flask app on a bounded pool of worker threads
(master.workerpool), in one hop each way (master.wsgicall): nothing answered
by Flask streams. Creates skip Flask (master.api.directcreate): on the event
loop, awaiting their Raft commit, or in a worker thread when a step would
wait for the log (raftstore.nonblocking); so do status writes
(master.api.directstatus), TokenRequests (master.api.directtoken) and
deletes of one object (master.api.directdelete). Small lists the watch cache may answer now, and
objects read at ``resourceVersion=0``, are answered on the loop from the
cache's JSON (master.api.directlist, master.api.directget). Both sides share
the authentication, the path and query parsing and the Status errors
(master.api).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl

from a2wsgi import WSGIMiddleware
from flask import Flask

from coxapi import errors, execstreams, pfstreams
from coxapi import streamproto as sp

from . import inflight, metrics, spdyupgrade, wsgicall
from .api import (
    OPEN_PATHS,
    authenticated,
    authfacts,
    authz,
    directcreate,
    directdelete,
    directget,
    directlist,
    directstatus,
    directtoken,
    health,
    params,
    paths,
    pftunnel,
    podexec,
    podlogs,
    spdyexec,
    state_of,
    tables,
    watch,
)
from .api.responses import status_parts
from .api.state import ApiState
from .auth import User
from .ui import PREFIX as UI_PREFIX
from .ui import UiApp
from .workerpool import WorkerPool

log = logging.getLogger(__name__)

Scope = dict[str, Any]


def _query(scope: Scope) -> dict[str, str]:
    """The first value of each parameter, as Flask's ``request.args.get`` sees it."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True):
        out.setdefault(k, v)
    return out


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def _parse(path: str) -> paths.Target | None:
    split = paths.split(path)
    if split is None:
        return None
    try:
        return paths.parse(*split)
    except errors.ApiError:
        return None


def watch_target(method: str, target: paths.Target | None,
                 query: Mapping[str, str]) -> paths.Target | None:
    """The collection a request on ``target`` watches, or None when it is not
    a watch (the Flask app answers those, including malformed ones, with its
    errors)."""
    if method != "GET" or query.get("watch", "").lower() not in ("true", "1"):
        return None
    if target is None or target.name is not None or target.subresource is not None:
        return None
    return target


def exec_target(target: paths.Target | None) -> paths.Target | None:
    """The pod a request would exec into, attach to or forward a port of
    (WebSocket or not), or None. Only pods have those subresources."""
    return target if target is not None and target.name \
        and target.subresource in podexec.SUBRESOURCES else None


def log_target(method: str, target: paths.Target | None) -> paths.Target | None:
    """The pod whose log a request reads, or None."""
    if method != "GET" or target is None:
        return None
    return target if target.subresource == "log" else None


async def _respond(send: Any, code: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": code,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers]})
    await send({"type": "http.response.body", "body": body})


class ApiApp:
    """The ASGI callable. ``shutdown`` (from any thread) ends every watch."""

    def __init__(self, flask_app: Flask, threads: int) -> None:
        self.state: ApiState = state_of(flask_app)
        # a2wsgi's stubs type environ and scope more narrowly than Flask and
        # this module do; both sides follow the WSGI and ASGI specs.
        # only what is neither HTTP nor a WebSocket (the lifespan) goes through a2wsgi
        self.wsgi: Any = WSGIMiddleware(cast(Any, flask_app), workers=1)
        self.workers = WorkerPool(threads, "WSGI")
        self.flask = flask_app
        cfg = self.state.config
        self.general = inflight.Budget(cfg.max_requests_inflight,
                                       cfg.max_requests_inflight_per_client)
        self.heartbeats = inflight.Budget(cfg.heartbeat_requests_inflight,
                                          cfg.heartbeat_requests_inflight)
        self.heartbeat_pool = WorkerPool(cfg.heartbeat_threads, "api-heartbeat")
        self.ui = UiApp(self)  # the dashboard, /ui/ (master.ui)

    def shutdown(self) -> None:
        self.state.stopping.set()
        self.state.watchers.stop_soon()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        if scope["type"] != "http":
            return await self.wsgi(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == UI_PREFIX or path.startswith(UI_PREFIX + "/"):
            return await self.ui(scope, receive, send)
        started, code, watching = time.perf_counter(), 500, False
        takeover = spdyupgrade.offered(scope)  # an HTTP/1.1 upgrade to SPDY/3.1

        async def tracked(message: dict) -> None:  # notes the status for the metrics
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            if method == "GET" and path in health.HEALTH_PATHS:
                status, text = health.answer(path, self.state)
                return await _respond(tracked, status,
                                      [("Content-Type", "text/plain; charset=utf-8")],
                                      (text + "\n").encode())
            query = _query(scope) if scope.get("query_string") else {}
            parsed = _parse(path)  # once per request: None for a non-resource path
            handler: Callable[[User, Any], Awaitable[None]]
            if (target := watch_target(method, parsed, query)) is not None:
                watching = True  # its events go to the raw send (watch.Wire)
                handler = functools.partial(self._watch, target, query,
                                            _header(scope, b"accept"), receive, send)
            elif (target := log_target(method, parsed)) is not None:
                handler = functools.partial(self._log, target, query, receive)
            elif (target := exec_target(parsed)) is not None:
                handler = functools.partial(self._exec_over_spdy, target, scope, takeover) \
                    if takeover is not None else functools.partial(self._exec_over_http, target,
                                                                   scope)
            else:
                return await self._call(path, method, parsed, query, scope, receive, tracked)
            await self._stream(path, scope, tracked, handler)
        finally:
            if takeover is not None and takeover.accepted:
                code = 101
            verb, resource = metrics.request_labels(method, path, watching)
            metrics.observe_request(verb, resource, code, time.perf_counter() - started)

    async def _call(self, path: str, method: str, target: paths.Target | None,
                    query: dict[str, str], scope: Scope, receive: Any, send: Any) -> None:
        """A request/response call, within the in-flight limits (master.inflight);
        a caller without a valid token is answered before its body is read."""
        user = None
        if path not in OPEN_PATHS:
            try:
                user = authenticated(self.state.config, _header(scope, b"authorization"), path)
            except errors.ApiError as e:
                return await _respond(send, *status_parts(e))
        budget: inflight.Budget = self.general
        pool = self.workers
        if user is not None and inflight.is_heartbeat(user, method, target):
            budget, pool = self.heartbeats, self.heartbeat_pool
        client = user.name if user is not None else f"address:{(scope.get('client') or ('',))[0]}"
        if not budget.try_acquire(client):
            return await _respond(send, *status_parts(inflight.too_many(
                "your own" if budget.in_flight < budget.total else "all clients")))
        direct = direct_async = None
        # creates, status writes, TokenRequests and deletes skip Flask: on the loop
        # first, else in a worker thread
        skip = next((m for m in (directcreate, directstatus, directtoken, directdelete)
                     if user is not None
                     and target is not None and m.applies(method, target, query)), None)
        if skip is not None:
            how = (self.state, user, path, target, query, _header(scope, b"content-type"))
            direct = functools.partial(skip.answer, *how)

            async def direct_async(raw: bytes) -> directcreate.Answer | None:
                return (await skip.answer_async(*how, raw)
                        if directcreate.on_the_loop(raw) else None)
        elif user is not None and target is not None and (
                read := next((m for m in (directlist, directget) if m.applies(method, target)),
                             None)) is not None:
            # what the watch cache may answer now (a small list, an object at
            # resourceVersion=0): on the loop, else Flask
            direct_async = functools.partial(read.answer_async, self.state, user, path,
                                             target, query, _header(scope, b"accept"))
        try:
            cfg = self.state.config
            await wsgicall.call(self.flask, pool, scope, receive, send, cfg.max_body_bytes,
                                cfg.body_timeout_seconds, direct, direct_async)
        finally:
            budget.release(client)

    async def _watch(self, target: paths.Target, query: dict[str, str], accept: str | None,
                     receive: Any, raw_send: Any, user: User, send: Any) -> None:
        st = self.state
        self._authorize(user, authz.Request("GET", target, watch=True))
        opts = params.list_options(query, target.kind.kind,
                                   target.kind.storage_prefix(target.namespace))
        as_table = tables.requested(accept, query)
        log.debug("WATCH %s (%s)", target.kind.plural, user.name)
        await watch.serve(st, st.watchers, target, opts, send, receive, watch.Wire.of(raw_send),
                          as_table)

    async def _log(self, target: paths.Target, query: dict[str, str], receive: Any,
                   user: User, send: Any) -> None:
        st = self.state
        self._authorize(user, authz.Request("GET", target))
        log.debug("LOG pods/%s (%s)", target.name, user.name)
        await podlogs.serve(st.objects, target.namespace or "default", target.name or "", query,
                            functools.partial(st.signing.node_token, master=st.config.name),
                            st.config.agent_connect_timeout, send, receive, st.config.agent_tls)

    async def _exec_plan(self, target: paths.Target, scope: Scope, user: User) -> podexec.Plan:
        self._authorize(user, authz.Request("POST", target))  # ``create`` on pods/exec
        return await podexec.plan(self.state.objects, target.namespace or "default",
                                  target.name or "", target.subresource or "",
                                  scope.get("query_string", b"").decode(), self.state.config.agent_tls)

    async def _exec_over_http(self, target: paths.Target, scope: Scope, user: User,
                              send: Any) -> None:
        """Checked as a WebSocket would be, so a client falling back to SPDY
        hears the same refusals, and then that only WebSocket is spoken."""
        if target.subresource == "portforward":  # its ports would come in SPDY streams
            self._authorize(user, authz.Request("POST", target))
            await podexec.locate(self.state.objects, target.namespace or "default",
                                 target.name or "", "portforward", self.state.config.agent_tls)
        else:
            await self._exec_plan(target, scope, user)
        raise podexec.upgrade_required(target.subresource or "")

    async def _exec_over_spdy(self, target: paths.Target, scope: Scope,
                              takeover: spdyupgrade.Takeover, user: User, send: Any) -> None:
        """exec, attach, port-forward on the connection itself, upgraded to
        SPDY/3.1 (kubectl before 1.30): checked as over WebSocket (a refusal is
        the same Status, as a plain HTTP answer), then taken over
        (master.api.spdyexec)."""
        st = self.state
        offered = spdyupgrade.header_values(scope, execstreams.VERSION_HEADER.lower().encode())
        if target.subresource == "portforward":
            at, token = await self._forward_target(target, user)
            version = execstreams.negotiate(offered, execstreams.FORWARD_VERSIONS)
            log.debug("PORTFORWARD pods/%s over SPDY/3.1 (%s)", target.name, user.name)
            conn = takeover.accept([(execstreams.VERSION_HEADER, version)])
            return await spdyexec.port_forward(conn, at, token, st.config.agent_connect_timeout)
        plan = await self._exec_plan(target, scope, user)
        version = execstreams.negotiate(offered, execstreams.EXEC_VERSIONS)
        opts = sp.exec_options(parse_qs(scope.get("query_string", b"").decode(),
                                        keep_blank_values=True),
                               need_command=target.subresource == "exec")
        token = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(st.signing.node_token, plan.node, master=st.config.name))
        up = await podexec.open_agent(plan, sp.V5, token, st.config.agent_connect_timeout)
        try:
            log.debug("EXEC pods/%s over SPDY/3.1 (%s)", target.name, user.name)
            conn = takeover.accept([(execstreams.VERSION_HEADER, version)])
            await spdyexec.ExecRelay(conn, up, opts).run()
        finally:
            await up.close()

    async def _websocket(self, scope: Scope, receive: Any, send: Any) -> None:
        """exec, portforward: refused before the handshake with a Status as the
        HTTP answer."""
        path, started = scope["path"], time.perf_counter()
        code = 101
        await receive()  # websocket.connect
        try:
            target = exec_target(_parse(path))
            if target is None:
                raise errors.NotFound("the server could not find the requested resource")
            user = authenticated(self.state.config, _header(scope, b"authorization"), path)
            st = self.state
            subprotocols = list(scope.get("subprotocols") or [])
            if target.subresource == "portforward" and pfstreams.TUNNEL_PROTOCOL in subprotocols:
                return await self._tunnel(target, user, receive, send)
            plan = await self._exec_plan(target, scope, user)
            log.debug("EXEC pods/%s (%s)", target.name, user.name)
            await podexec.serve(plan, subprotocols,
                                functools.partial(st.signing.node_token, master=st.config.name),
                                st.config.agent_connect_timeout, receive, send)
        except errors.ApiError as e:
            code, headers, body = status_parts(e)
            await send({"type": "websocket.http.response.start", "status": code,
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers]})
            await send({"type": "websocket.http.response.body", "body": body})
        except Exception:  # noqa: BLE001 - no traceback reaches a client
            code = 500
            log.exception("internal error serving the WebSocket of %s", path)
            await send({"type": "websocket.close", "code": 1011})
        finally:
            verb, resource = metrics.request_labels("POST", path, False)
            metrics.observe_request(verb, resource, code, time.perf_counter() - started)

    async def _tunnel(self, target: paths.Target, user: User, receive: Any, send: Any) -> None:
        """port-forward in kubectl's SPDY-in-WebSocket (master.api.pftunnel); the
        ports come later, in its streams."""
        at, token = await self._forward_target(target, user)
        log.debug("PORTFORWARD pods/%s over SPDY (%s)", target.name, user.name)
        await pftunnel.serve(at, token, self.state.config.agent_connect_timeout, receive, send)

    async def _forward_target(self, target: paths.Target, user: User
                              ) -> tuple[podexec.PodOnNode, str]:
        """The pod a port-forward may reach, and the token for its node's agent."""
        st = self.state
        self._authorize(user, authz.Request("POST", target))
        at = await podexec.locate(st.objects, target.namespace or "default", target.name or "",
                                  "portforward", st.config.agent_tls)
        token = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(st.signing.node_token, at.node, master=st.config.name))
        return at, token

    def _authorize(self, user: User, req: authz.Request) -> None:
        """As the Flask side does (master.api.resources). On the event loop:
        the node rules a stream meets read nothing, RBAC reads this replica's
        memory only."""
        authz.check(user, req, authfacts.facts(self.state.objects, req.target), self.state.rbac)

    async def _stream(self, path: str, scope: Scope, send: Any,
                      serve: Callable[[User, Any], Awaitable[None]]) -> None:
        """Run a streaming handler: an error before its response started is a
        Status; after, the stream just ends."""
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await serve(authenticated(self.state.config, _header(scope, b"authorization"),
                                      path), tracked)
        except errors.ApiError as e:
            if started:
                raise
            await _respond(send, *status_parts(e))
        except Exception:  # noqa: BLE001 - no traceback reaches a client
            log.exception("internal error serving a stream of %s", path)
            if not started:  # else returning unfinished makes the server close the stream
                await _respond(send, *status_parts(errors.InternalError(
                    "an internal error occurred; see the master's log")))
