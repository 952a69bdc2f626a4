"""The agent's HTTP endpoint: ``GET /containerLogs/{ns}/{pod}/{container}``.

The masters proxy ``cox logs`` here, and only they may ask: a request
carries a short-lived token a master signed for this node (``MasterTokens``),
and only this node's own containers are found.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from cheroot import wsgi
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, Response, jsonify, request

from coxapi import errors, jwt
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
               authenticate: Authenticator) -> Flask:
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

    @app.get("/containerLogs/<namespace>/<pod>/<container>")
    def container_logs(namespace: str, pod: str, container: str) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not authenticate(token):
            return fail(401, "Unauthorized", "Unauthorized")
        follow = request.args.get("follow", "false").lower() in ("1", "true", "yes")
        previous = request.args.get("previous", "false").lower() in ("1", "true", "yes")
        tail_arg = request.args.get("tailLines")
        try:
            tail = int(tail_arg) if tail_arg not in (None, "", "-1") else None
        except ValueError:
            return fail(400, "BadRequest", f"tailLines must be an integer, not {tail_arg!r}")
        if tail is not None and tail < 0:
            return fail(400, "BadRequest", "tailLines must not be negative")
        found = find_container(list_containers(), namespace, pod, container, previous)
        if found is None:
            what = "previous terminated container" if previous else "container"
            return fail(404, "NotFound",
                        f'{what} "{container}" in pod "{pod}" not found on this node')
        try:
            stream = runtime.logs(found.id, follow=follow, tail=tail)
        except RuntimeFailure as e:
            return fail(500, "InternalError", f"reading logs: {e}")
        streams.add(stream)

        def body() -> Iterator[bytes]:
            try:
                yield from stream
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
