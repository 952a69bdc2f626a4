"""The agent's HTTP endpoint: ``GET /containerLogs/{ns}/{pod}/{container}`` and
``GET /metrics`` (Prometheus).

The masters proxy ``cox logs`` here, and only they may ask: a log request
carries a short-lived token a master signed for this node (``MasterTokens``),
and only this node's own containers are found. ``/metrics`` takes the node's
own token or any token the masters accept for their own ``/metrics`` (the
read-only monitoring token too), asked once and remembered for a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from coxapi import errors, jwt, logoptions
from coxapi.client import Client

from . import podspec
from .runtime import ContainerInfo, LogStream, Runtime, RuntimeFailure

log = logging.getLogger(__name__)

Authenticator = Callable[[str], bool]
JWKS_PATH = "/openid/v1/jwks"  # master.api.oidc


class MasterTokens:
    """Accepts a token only if the masters signed it for this node (``aud``)
    and it has not expired: not the node's own token, not a user's, not a
    token meant for another node. The public keys come from the masters'
    ``/openid/v1/jwks``, fetched again (at most every ``refresh`` seconds)
    when a token names a key not yet known."""

    def __init__(self, node: str, fetch_keys: Callable[[], dict[str, Ed25519PublicKey]],
                 refresh: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.audience = jwt.NODE_AUDIENCE.format(node)
        self.fetch_keys, self.refresh, self.clock = fetch_keys, refresh, clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _refresh_keys(self) -> None:
        with self._lock:
            now = self.clock()
            if self._fetched_at is not None and now - self._fetched_at < self.refresh:
                return
            self._fetched_at = now
            try:
                self._keys = self.fetch_keys()
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                log.warning("cannot read the masters' signing keys: %s", e)

    def __call__(self, token: str) -> bool:
        if not token:
            return False
        for attempt in range(2):
            try:
                jwt.verify(token, self._keys, self.clock(), self.audience)
                return True
            except jwt.InvalidToken as e:
                if attempt or "unknown key" not in str(e):
                    return False
                self._refresh_keys()
        return False


def master_keys(client: Client) -> Callable[[], dict[str, Ed25519PublicKey]]:
    return lambda: jwt.public_keys(client.request("GET", JWKS_PATH))


class TokenCache:
    """Remembers verdicts on presented tokens for ``ttl`` seconds (keyed by a digest,
    so tokens themselves are not kept)."""

    def __init__(self, own_token: str, check: Authenticator, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.own = own_token
        self.check = check
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[bytes, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, token: str) -> bool:
        if not token:
            return False
        if self.own and hmac.compare_digest(token.encode(), self.own.encode()):
            return True
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            hit = self._seen.get(key)
            if hit and self.clock() - hit[1] < self.ttl:
                return hit[0]
        ok = self.check(token)
        with self._lock:
            self._seen[key] = (ok, self.clock())
        return ok


def master_metrics_checker(servers: list[str], ca_file: str | None = None) -> Authenticator:
    """Ask the masters whether this token may read their /metrics."""
    def check(token: str) -> bool:
        try:
            Client(servers, token, timeout=5, ca_file=ca_file).request("GET", "/metrics")
            return True
        except (errors.ApiError, errors.ClusterUnreachable):
            return False
    return check


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def find_container(containers: list[ContainerInfo], namespace: str, pod: str, name: str,
                   previous: bool) -> ContainerInfo | None:
    """The current (or previous) instance of a pod's container."""
    mine = sorted((c for c in containers
                   if c.labels.get(podspec.LABEL_POD_NAMESPACE) == namespace
                   and c.labels.get(podspec.LABEL_POD_NAME) == pod
                   and c.container_name == name and not c.is_infra),
                  key=lambda c: (c.attempt, c.started_at or 0))
    if previous:
        return mine[-2] if len(mine) > 1 else None
    return mine[-1] if mine else None


def create_app(runtime: Runtime, list_containers: Callable[[], list[ContainerInfo]],
               authenticate: Authenticator,
               authenticate_metrics: Authenticator | None = None) -> Flask:
    app = Flask("coxswain-node")
    streams: set[LogStream] = set()  # open follows, closed when the server stops

    def fail(code: int, reason: str, message: str) -> Response:
        resp = jsonify({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "code": code, "reason": reason, "message": message})
        resp.status_code = code
        return resp

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/metrics")
    def metrics() -> Response:
        if not (authenticate_metrics or authenticate)(_bearer()):
            return fail(401, "Unauthorized", "Unauthorized")
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/containerLogs/<namespace>/<pod>/<container>")
    def container_logs(namespace: str, pod: str, container: str) -> Response:
        if not authenticate(_bearer()):
            return fail(401, "Unauthorized", "Unauthorized")
        try:
            opts = logoptions.parse(request.args, time.time())
        except errors.ApiError as e:
            return fail(400, "BadRequest", str(e))
        found = find_container(list_containers(), namespace, pod, container, opts.previous)
        if found is None:
            what = "previous terminated container" if opts.previous else "container"
            return fail(404, "NotFound",
                        f'{what} "{container}" in pod "{pod}" not found on this node')
        try:
            stream = runtime.logs(found.id, follow=opts.follow, tail=opts.tail_lines,
                                  since=opts.since, timestamps=opts.timestamps)
        except RuntimeFailure as e:
            return fail(500, "InternalError", f"reading logs: {e}")
        streams.add(stream)

        def body() -> Iterator[bytes]:
            try:
                yield from logoptions.limited(stream, opts.limit_bytes)
            except Exception as e:  # noqa: BLE001 - the stream ends, the server lives
                log.debug("log stream of %s ended: %s", found.id[:12], e)
            finally:
                streams.discard(stream)
                stream.close()
        return Response(body(), mimetype="text/plain", direct_passthrough=True)

    app.extensions["coxswain-log-streams"] = streams
    return app


class LogServer:
    """The agent's server: uvicorn on a socket bound at construction (so ``port``
    is known before ``serve`` runs), serving an ASGI app (node.agentstreams);
    over TLS with ``tls`` (certificate, key files)."""

    def __init__(self, app: Any, address: str, port: int, flask_app: Flask | None = None,
                 tls: tuple[str, str] | None = None) -> None:
        self.streams: set[LogStream] = (flask_app.extensions.get("coxswain-log-streams", set())
                                        if flask_app is not None else set())
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((address, port))
        except OSError:
            self.sock.close()
            raise
        self.server = uvicorn.Server(uvicorn.Config(
            app, interface="asgi3", ws="websockets-sansio", lifespan="off", log_config=None,
            access_log=False, server_header=False, timeout_graceful_shutdown=2,
            ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None))

    def serve(self, _stop: threading.Event) -> None:
        """Serve until ``stop()`` (run by the agent's supervisor)."""
        asyncio.run(self.server.serve(sockets=[self.sock]))

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def stop(self) -> None:
        for stream in list(self.streams):
            try:
                stream.close()  # unblocks the worker thread reading a follow
            except Exception:  # noqa: BLE001, S110 - already closed
                pass
        self.server.should_exit = True
