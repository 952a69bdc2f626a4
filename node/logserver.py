"""The agent's HTTP endpoint: ``GET /containerLogs/{ns}/{pod}/{container}`` and
``GET /metrics`` (Prometheus).

The masters proxy ``cox logs`` here. Requests carry a bearer token: the
node's own token is accepted directly; any other token is accepted if the
masters accept it for reading pods (for logs) or for their own ``/metrics``
(for metrics: the read-only monitoring token too). Verdicts are checked once
and remembered for a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator

from cheroot import wsgi
from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from coxapi import errors, logoptions
from coxapi.client import Client

from . import podspec
from .runtime import ContainerInfo, LogStream, Runtime, RuntimeFailure

log = logging.getLogger(__name__)

Authenticator = Callable[[str], bool]


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


def master_checker(servers: list[str], ca_file: str | None = None) -> Authenticator:
    """Ask the masters whether this token may read pods."""
    def check(token: str) -> bool:
        try:
            Client(servers, token, timeout=5, ca_file=ca_file).list("Pod", namespace="default",
                                                                    limit=1)
            return True
        except errors.ApiError:
            return False
        except errors.ClusterUnreachable:
            return False
    return check


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
    def __init__(self, app: Flask, address: str, port: int) -> None:
        self.streams: set[LogStream] = app.extensions.get("coxswain-log-streams", set())
        self.server = wsgi.Server((address, port), app, numthreads=16,
                                  server_name="coxswain-node")
        self.server.prepare()  # bound now, so ``port`` is known before ``serve`` runs

    def serve(self, _stop: threading.Event) -> None:
        """Serve until ``stop()`` (run by the agent's supervisor)."""
        self.server.serve()

    @property
    def port(self) -> int:
        return self.server.bind_addr[1]

    def stop(self) -> None:
        for stream in list(self.streams):
            try:
                stream.close()  # unblocks the worker thread reading a follow
            except Exception:  # noqa: BLE001, S110 - already closed
                pass
        self.server.stop()
