"""The dashboard's server side, under ``/ui/`` (docs/dashboard.md).

- ``/ui/login``: a form that takes a bearer token; on success a sealed
  session cookie (master.ui.session) every master can open.
- ``/ui/`` and ``/ui/static/...``: the page and its assets (shipped in this
  package). The page itself needs a session, else it redirects to the login.
- ``/ui/api/<API path>``: GET only, the real API, called in process with the
  session's token: authorised as that user exactly as the API authorises
  them. Secrets and the pod exec family are refused here.
- ``/ui/watch?w=<API path>&w=...``: those API watches as one Server-Sent
  Events stream (``event: <index>``, one API watch event per ``data:``),
  straight from the master's watch cache on its event loop.
- ``/ui/session``, ``/ui/can``, ``/ui/masters``, ``/ui/raft``,
  ``/ui/secrets``, ``/ui/usage``: what the page needs beyond the API
  (Secrets: names, types and keys only; usage: the nodes' last hour this
  master keeps, master.usagehistory).
- ``POST /ui/actions/<action>``: the dashboard's actions (master.ui.actions),
  each with the session's CSRF token in ``X-CSRF-Token`` and, when the
  browser sends one, a same-origin ``Origin``; each success is an Event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import mimetypes
import time
import uuid
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from coxapi import errors, kinds
from coxapi.timefmt import rfc3339

from .. import wsgicall
from ..api import authenticated, authfacts, authz, paths, podexec
from ..api.responses import status_parts
from ..api.reviews import non_resource_decision
from ..auth import User
from . import actions, masters, session
from .internal import Caller

log = logging.getLogger(__name__)
Scope = dict[str, Any]
PREFIX = "/ui"
COMPONENT = "coxswain-dashboard"
_BODY_LIMIT = 1024 * 1024
_STATIC = resources.files(__package__).joinpath("static")
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, private"),
                (b"x-accel-buffering", b"no")]
# Referrer-Policy "no-referrer" would make the browser send "Origin: null".
_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")]
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' {others}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'")


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def origin_of(scope: Scope) -> str:
    """This master as the browser addressed it."""
    return f"{scope.get('scheme', 'http')}://{_header(scope, b'host') or ''}"


def _with_host(url: str, scope: Scope) -> str:
    """A published URL with no host (a wildcard listener) gets the page's host."""
    parts = urlsplit(url)
    if parts.hostname:
        return url
    host = urlsplit(origin_of(scope)).hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port}"


async def _respond(send: Any, code: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": code,
                "headers": [(k.lower().encode(), v.encode())
                            for k, v in [*headers, *_SECURITY_HEADERS]]})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, body: Any, code: int = 200) -> None:
    await _respond(send, code, [("Content-Type", "application/json")],
                   json.dumps(body, separators=(",", ":")).encode())


async def _redirect(send: Any, to: str, extra: list[tuple[str, str]] | None = None) -> None:
    await _respond(send, 303, [("Location", to), *(extra or [])], b"")


def static_names() -> frozenset[str]:
    return frozenset(p.name for p in _STATIC.iterdir() if p.is_file())


def secret_summary(secret: dict) -> dict:
    """What the dashboard shows of a Secret: never a value."""
    meta = secret.get("metadata") or {}
    return {"namespace": meta.get("namespace"), "name": meta.get("name"),
            "type": secret.get("type", "Opaque"),
            "keys": sorted({*(secret.get("data") or {}), *(secret.get("stringData") or {})}),
            "creationTimestamp": meta.get("creationTimestamp")}


MAX_WATCHES = 8  # watches one page multiplexes into its one event stream


class Multiplex:
    """Several API watches as one Server-Sent Events stream: watch ``i``'s
    events are ``event: i`` messages. A browser keeps at most six HTTP/1.1
    connections per host, so a page with one stream per list would starve
    its own requests. When any watch ends, the stream ends (the page lists
    again and watches anew); one refused is an ERROR event of its own."""

    def __init__(self, send: Any) -> None:
        self.send, self.lock = send, asyncio.Lock()
        self.ended = asyncio.Event()

    async def start(self) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await self.send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})

    def sender(self, index: int) -> Any:
        pending, status, refusal = b"", 200, b""
        tag = b"event: %d\ndata: " % index

        async def send(message: dict) -> None:
            nonlocal pending, status, refusal
            if message["type"] == "http.response.start":
                status = message["status"]
                return
            body = message.get("body", b"")
            if status != 200:  # a Status: passed on as the ERROR event a watch would send
                refusal += body
                if not message.get("more_body"):
                    line = b'{"type":"ERROR","object":%b}' % (refusal.strip() or b"{}")
                    await self._write(tag + line + b"\n\n")
                return
            lines = (pending + body).split(b"\n")
            pending = lines.pop()
            out = b"".join(tag + line + b"\n\n" for line in lines if line.strip())
            if out:
                await self._write(out)
        return send

    async def _write(self, data: bytes) -> None:
        async with self.lock:
            await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def receive(self) -> dict:
        await self.ended.wait()
        return {"type": "http.disconnect"}

    async def finish(self) -> None:
        async with self.lock:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})


class UiApp:
    """The ``/ui`` part of a master's ASGI app; ``api`` is that app."""

    def __init__(self, api: Any) -> None:
        self.api, self.state = api, api.state
        self._sealer: session.Sealer | None = None
        self._static = static_names()

    async def sealer(self) -> session.Sealer:
        if self._sealer is None:
            key = await asyncio.get_running_loop().run_in_executor(
                None, self.state.signing.private)
            self._sealer = session.Sealer(*session.derive_keys(key))
        return self._sealer

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._route(scope, receive, tracked)
        except Exception as e:  # noqa: BLE001 - a Status, never a traceback, reaches the page
            if started:
                raise
            if not isinstance(e, errors.ApiError):
                log.exception("internal error serving %s", scope["path"])
                e = errors.InternalError("an internal error occurred; see the master's log")
            await _respond(send, *status_parts(e))

    async def _route(self, scope: Scope, receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if path == PREFIX:
            return await _redirect(send, PREFIX + "/")
        sub = path[len(PREFIX):]
        if sub == "/login":
            return await (self._login(scope, receive, send) if method == "POST"
                          else self._login_page(scope, send))
        if sub.startswith("/static/") and method == "GET":
            return await self._asset(sub[len("/static/"):], send)
        signed_in = await self._session(scope)
        if sub in ("/", "/index.html") and method == "GET":
            if signed_in is None:
                return await _redirect(send, PREFIX + "/login")
            return await self._page(scope, send)
        if signed_in is None:
            raise errors.Unauthorized("sign in at /ui/login")
        s, user = signed_in
        if method == "POST":
            await self._check_csrf(scope, s)
            return await self._post(sub, scope, receive, send, s, user)
        if method != "GET":
            raise errors.MethodNotAllowed(f"{method} is not allowed on {path}")
        if sub.startswith("/api/"):
            return await self._passthrough(sub[len("/api"):], scope, receive, send, s)
        if sub == "/watch":
            return await self._watch(scope, receive, send, s)
        return await self._get(sub, scope, send, s, user)

    # ---- session ----

    async def _session(self, scope: Scope) -> tuple[session.Session, User] | None:
        value = session.cookie_value(_header(scope, b"cookie"))
        if value is None:
            return None
        s = (await self.sealer()).open(value, time.time())
        if s is None:
            return None
        try:  # again on every request: a revoked token ends its sessions
            user = await self._blocking(authenticated, self.state.config, f"Bearer {s.token}",
                                        PREFIX + "/")
        except errors.ApiError:
            return None
        return s, user

    async def _check_csrf(self, scope: Scope, s: session.Session) -> None:
        origin = _header(scope, b"origin")
        if origin is not None and origin != origin_of(scope):
            raise errors.Forbidden("cross-origin request refused")
        if not (await self.sealer()).csrf_ok(s, _header(scope, b"x-csrf-token")):
            raise errors.Forbidden("missing or wrong X-CSRF-Token")

    async def _login_page(self, scope: Scope, send: Any, failed: bool = False) -> None:
        html = _STATIC.joinpath("login.html").read_text()
        if failed:
            html = html.replace("<!--error-->", '<p id="login-error" role="alert">'
                                "That token was not accepted.</p>")
        await _respond(send, 401 if failed else 200,
                       [("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Security-Policy", _CSP.format(others=""))], html.encode())

    async def _login(self, scope: Scope, receive: Any, send: Any) -> None:
        origin = _header(scope, b"origin")
        if origin is not None and origin != origin_of(scope):
            raise errors.Forbidden("cross-origin login refused")
        try:
            body = await wsgicall.read_body(receive, 64 * 1024)
        except wsgicall.BodyTooLarge:
            raise errors.RequestEntityTooLarge("the login form is too large") from None
        token = dict(parse_qsl(body.decode("latin-1"))).get("token", "").strip()
        try:
            if not token:
                raise errors.Unauthorized("no token")
            user = await self._blocking(authenticated, self.state.config, f"Bearer {token}",
                                        PREFIX + "/")
        except errors.ApiError:
            return await self._login_page(scope, send, failed=True)
        sealer = await self.sealer()
        log.info("dashboard: %s signed in", user.name)
        await _redirect(send, PREFIX + "/", [("Set-Cookie", session.set_cookie(
            sealer.seal(token, time.time()), sealer.ttl))])

    # ---- pages and assets ----

    async def _asset(self, name: str, send: Any) -> None:
        if name not in self._static or name == "login.html":
            raise errors.NotFound("no such asset")
        ctype = {".js": "text/javascript", ".css": "text/css"}.get(
            name[name.rfind("."):], mimetypes.guess_type(name)[0] or "application/octet-stream")
        await _respond(send, 200, [("Content-Type", f"{ctype}; charset=utf-8")],
                       _STATIC.joinpath(name).read_bytes())

    async def _page(self, scope: Scope, send: Any) -> None:
        others = " ".join(u for u in await self._master_urls(scope) if u != origin_of(scope))
        await _respond(send, 200, [("Content-Type", "text/html; charset=utf-8"),
                                   ("Content-Security-Policy", _CSP.format(others=others))],
                       _STATIC.joinpath("index.html").read_bytes())

    async def _master_urls(self, scope: Scope) -> list[str]:
        leases = await self._blocking(masters.records, self.state.objects)
        return [_with_host(u, scope) for u in masters.urls(origin_of(scope), leases, time.time())]

    # ---- data ----

    async def _get(self, sub: str, scope: Scope, send: Any, s: session.Session,
                   user: User) -> None:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if sub == "/session":
            return await _json(send, {"user": user.name, "groups": list(user.groups),
                                      "csrf": (await self.sealer()).csrf(s),
                                      "master": self.state.config.name,
                                      "origin": origin_of(scope)})
        if sub == "/can":
            return await _json(send, await self._blocking(self.can, user,
                                                          query.get("namespace") or "default"))
        if sub == "/masters":
            return await _json(send, {"urls": await self._master_urls(scope)})
        if sub == "/raft":
            # as the API's own /status/raft is authorised
            reason = non_resource_decision(self.state.rbac, user, "get", "/status/raft")
            if reason is not None:
                raise errors.Forbidden(f'User "{user.name}" cannot get path "/status/raft": '
                                       f"{reason}")
            local = await self._blocking(self.state.store.status)
            leases = await self._blocking(masters.records, self.state.objects)
            view = masters.view(self.state.config.name, origin_of(scope), local, leases,
                                time.time())
            for row in view["masters"]:
                row["url"] = _with_host(row["url"], scope) if row["url"] else ""
            return await _json(send, view)
        if sub == "/usage":
            return await _json(send, await self._blocking(self.usage, user, query.get("since")))
        if sub == "/secrets":
            ns = query.get("namespace") or None
            self._authorize(user, "GET", kinds.lookup("secrets"), ns, None)
            items = (await self._blocking(lambda: self.state.objects.list(
                "Secret", ns, linearizable=False))).items
            return await _json(send, {"items": [secret_summary(x) for x in items]})
        raise errors.NotFound("the server could not find the requested resource")

    def _authorize(self, user: User, method: str, kind: kinds.Kind, namespace: str | None,
                   name: str | None, sub: str | None = None) -> None:
        target = paths.Target(kind, namespace, name, sub)
        authz.check(user, authz.Request(method, target),
                    authfacts.facts(self.state.objects, target), self.state.rbac)

    def usage(self, user: User, since: str | None) -> dict:
        """The nodes' usage history this master keeps (master.usagehistory):
        ``{"now": ms, "nodes": {name: [[ms, cpu nanocores, memory bytes], ...]}}``,
        oldest first, only samples after ``since`` (ms) if given. Whoever may
        list nodes may read it."""
        self._authorize(user, "GET", kinds.lookup("nodes"), None, None)
        try:
            after = float(since) if since else 0.0  # ms
            if not math.isfinite(after):
                raise ValueError(since)
        except ValueError:
            raise errors.BadRequest("since: milliseconds since the epoch", {"causes": [
                {"field": "since", "message": "a number of milliseconds"}]}) from None
        now = time.time()
        # compared in whole ms, as the page got them: a sample it has is never sent again
        return {"now": round(now * 1000), "nodes": {
            node: [[ms, cpu, mem] for t, cpu, mem in samples if (ms := round(t * 1000)) > after]
            for node, samples in self.state.usage.since(now).items()}}

    def can(self, user: User, namespace: str) -> dict[str, bool]:
        """Which actions this user may take in ``namespace``, as the API will
        decide them (the page hides the others; the API refuses them anyway)."""
        out = {}
        for action, (method, sub) in actions.NEEDS.items():
            resource = "pods" if action == "drain" else actions.RESOURCES[action][0]
            kind = kinds.lookup(resource)
            target = paths.Target(kind, namespace if kind.namespaced else None, "", sub)
            out[action] = authz.decide(user, authz.Request(method, target),
                                       authfacts.facts(self.state.objects, target),
                                       self.state.rbac) is None
        out["apply"] = out["restart"]  # patching a Deployment: what an editor may do
        return out

    def _api_scope(self, scope: Scope, api_path: str, query: bytes, s: session.Session
                   ) -> Scope:
        """The API request behind a /ui/ one, as the session's user; refuses
        what the dashboard never shows (Secrets, the exec family)."""
        split = paths.split(api_path)
        if split is not None:
            try:
                target: paths.Target | None = paths.parse(*split)
            except errors.ApiError:
                target = None
            if target is not None and target.kind.kind == "Secret":
                raise errors.Forbidden("the dashboard does not read Secrets through /ui/api: "
                                       "see /ui/secrets", {"kind": "secrets"})
            if target is not None and target.subresource in podexec.SUBRESOURCES:
                raise errors.Forbidden("exec, attach and port-forward are not in the dashboard")
        headers = [(k, v) for k, v in scope.get("headers", ())
                   if k not in (b"cookie", b"authorization", b"accept", b"origin")]
        headers += [(b"authorization", f"Bearer {s.token}".encode()),
                    (b"accept", (_header(scope, b"accept") or "application/json").encode())]
        return {**scope, "path": api_path, "raw_path": api_path.encode(),
                "query_string": query, "headers": headers}

    async def _passthrough(self, api_path: str, scope: Scope, receive: Any, send: Any,
                           s: session.Session) -> None:
        query = scope.get("query_string", b"")
        if any(k == "watch" for k, _ in parse_qsl(query.decode("latin-1"))):
            raise errors.BadRequest("watch through /ui/watch")
        await self.api(self._api_scope(scope, api_path, query, s), receive, send)

    async def _watch(self, scope: Scope, receive: Any, send: Any, s: session.Session) -> None:
        """``/ui/watch?w=<API path?query>&w=...``: those watches as one SSE stream."""
        wanted = [v for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                  if k == "w"]
        if not wanted or len(wanted) > MAX_WATCHES:
            raise errors.BadRequest(f"name 1 to {MAX_WATCHES} watches as w=<API path>",
                                    {"causes": [{"field": "w", "message": "1 to 8 paths"}]})
        base = {**scope, "headers": [(k, v) for k, v in scope.get("headers", ())
                                     if k != b"accept"]}
        scopes = []
        for w in wanted:
            api_path, _, q = w.partition("?")
            if not api_path.startswith("/"):
                raise errors.BadRequest("a watched path starts with /")
            query = [(k, v) for k, v in parse_qsl(q) if k != "watch"] + [("watch", "1")]
            scopes.append(self._api_scope(base, api_path, urlencode(query).encode(), s))
        mux = Multiplex(send)
        await mux.start()

        async def one(i: int, inner: Scope) -> None:
            try:
                await self.api(inner, mux.receive, mux.sender(i))
            finally:
                mux.ended.set()  # one ended: end them all

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            mux.ended.set()

        gone = asyncio.get_running_loop().create_task(client_gone())
        try:
            await asyncio.gather(*(one(i, x) for i, x in enumerate(scopes)),
                                 return_exceptions=True)
            await mux.finish()
        finally:
            gone.cancel()

    # ---- actions ----

    async def _post(self, sub: str, scope: Scope, receive: Any, send: Any, s: session.Session,
                    user: User) -> None:
        if sub == "/logout":
            return await _respond(send, 200, [("Set-Cookie", session.clear_cookie()),
                                              ("Content-Type", "application/json")], b"{}")
        if not sub.startswith("/actions/"):
            raise errors.NotFound("the server could not find the requested resource")
        action = sub[len("/actions/"):]
        try:
            params = json.loads(await wsgicall.read_body(receive, _BODY_LIMIT) or b"{}")
        except wsgicall.BodyTooLarge:
            raise errors.RequestEntityTooLarge("the request body is too large") from None
        except ValueError:
            raise errors.BadRequest("the body must be a JSON object") from None
        if not isinstance(params, dict):
            raise errors.BadRequest("the body must be a JSON object")
        call = Caller(self.api, s.token, tuple(scope.get("client") or ("127.0.0.1", 0)))
        now = rfc3339(time.time())
        if action == "apply":
            applied = await actions.apply(params.get("manifest"), bool(params.get("dryRun")),
                                          call, user.name)
            for done in applied.done:
                await self._blocking(self.record, done, actions.REASONS["apply"], now)
            return await _json(send, {"dryRun": bool(params.get("dryRun")),
                                      "results": applied.results})
        done = await actions.run(action, params, call, user.name, now)
        await self._blocking(self.record, done, actions.REASONS[action], now)
        log.info("dashboard: %s", done.message)
        await _json(send, {"message": done.message})

    def record(self, done: actions.Done, reason: str, now: str) -> None:
        """The Event of an action, written by the master (the user may not
        create Events), on the store lease Events share."""
        involved = done.involved
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{involved['name']}.{uuid.uuid4().hex[:16]}",
                              "namespace": involved.get("namespace") or "default"},
                 "involvedObject": involved, "reason": reason, "message": done.message,
                 "type": "Normal", "source": {"component": COMPONENT},
                 "reportingComponent": COMPONENT, "firstTimestamp": now, "lastTimestamp": now,
                 "count": 1}
        leases = self.state.event_leases
        for attempt in range(2):
            lease = leases.current()
            try:
                self.state.objects.create(event, lease=lease)
                return
            except errors.ApiError as e:
                if attempt or not leases.forgot(lease, e):  # gone: a new one
                    raise


__all__ = ["UiApp"]
