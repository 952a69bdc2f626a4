"""A minimal JSON-over-HTTP front end to one store replica, for testing the
store in isolation and for the benchmark (the master embeds the store
in-process instead). POST /v1/<op> with a JSON body; GET /v1/watch streams
one JSON event per line; GET /v1/status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

from . import codec
from .base import Store
from .errors import InvalidArgument, StoreError

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
WATCH_HEARTBEAT = 5.0  # an idle watch sends a blank line this often (detects gone clients)

Handler = Callable[[Store, dict], dict]


def _put(s: Store, b: dict) -> dict:
    kv = s.put(codec.field(b, "key", str), codec.field(b, "value", dict),
               lease=codec.field(b, "lease", int, 0),
               expect_mod_revision=codec.field(b, "expect_mod_revision", int, None))
    return {"kv": codec.kv_json(kv)}


def _get(s: Store, b: dict) -> dict:
    kv = s.get(codec.field(b, "key", str), linearizable=codec.field(b, "linearizable", bool, True))
    return {"kv": codec.kv_json(kv)}


def _range(s: Store, b: dict) -> dict:
    r = s.range(codec.field(b, "prefix", str), limit=codec.field(b, "limit", int, 0),
                start_after=codec.field(b, "start_after", str, None),
                linearizable=codec.field(b, "linearizable", bool, True))
    return {"kvs": [codec.kv_json(kv) for kv in r.kvs], "revision": r.revision, "more": r.more}


def _delete(s: Store, b: dict) -> dict:
    kv = s.delete(codec.field(b, "key", str),
                  expect_mod_revision=codec.field(b, "expect_mod_revision", int, None))
    return {"kv": codec.kv_json(kv)}


def _delete_prefix(s: Store, b: dict) -> dict:
    return {"deleted": s.delete_prefix(codec.field(b, "prefix", str))}


def _txn(s: Store, b: dict) -> dict:
    r = s.txn([codec.compare_from_json(c) for c in codec.field(b, "compares", list, [])],
              [codec.op_from_json(o) for o in codec.field(b, "success", list, [])],
              [codec.op_from_json(o) for o in codec.field(b, "failure", list, [])])
    return codec.txn_result_json(r)


def _lease_grant(s: Store, b: dict) -> dict:
    return {"id": s.lease_grant(codec.field(b, "ttl", (int, float)))}


def _lease_keepalive(s: Store, b: dict) -> dict:
    s.lease_keepalive(codec.field(b, "id", int))
    return {}


def _lease_revoke(s: Store, b: dict) -> dict:
    s.lease_revoke(codec.field(b, "id", int))
    return {}


def _compact(s: Store, b: dict) -> dict:
    s.compact(codec.field(b, "revision", int))
    return {}


POST_ROUTES: dict[str, Handler] = {
    "/v1/put": _put, "/v1/get": _get, "/v1/range": _range, "/v1/delete": _delete,
    "/v1/delete_prefix": _delete_prefix, "/v1/txn": _txn, "/v1/lease/grant": _lease_grant,
    "/v1/lease/keepalive": _lease_keepalive, "/v1/lease/revoke": _lease_revoke,
    "/v1/compact": _compact,
}


def _json(start_response: Callable, status: int, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(f"{status} {_REASONS.get(status, 'Error')}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 410: "Gone", 500: "Internal Server Error",
            503: "Service Unavailable", 507: "Insufficient Storage"}


def create_app(store: Store) -> Callable:
    def app(environ: dict, start_response: Callable) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        try:
            if path in POST_ROUTES:
                if method != "POST":
                    return _json(start_response, 405, {"error": "MethodNotAllowed",
                                                       "message": f"{path} takes POST"})
                return _json(start_response, 200, POST_ROUTES[path](store, _body(environ)))
            if path == "/v1/status" and method == "GET":
                return _json(start_response, 200, store.status())
            if path == "/v1/watch" and method == "GET":
                return _watch(store, environ, start_response)
            return _json(start_response, 404, {"error": "NotFound", "message": f"no route {path}"})
        except StoreError as e:
            return _json(start_response, *codec.error_json(e))
        except Exception:  # noqa: BLE001 - a bug must not take the server down
            log.exception("request %s %s failed", method, path)
            return _json(start_response, 500, {"error": "InternalError",
                                               "message": "internal error; see the server log"})
    return app


def _body(environ: dict) -> dict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidArgument("bad Content-Length") from None
    if length > MAX_BODY:
        raise InvalidArgument(f"request body larger than {MAX_BODY} bytes")
    raw = environ["wsgi.input"].read(length) if length else b"{}"
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise InvalidArgument(f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise InvalidArgument("request body must be a JSON object")
    return body


def _watch(store: Store, environ: dict, start_response: Callable) -> Any:
    q = parse_qs(environ.get("QUERY_STRING", ""))
    prefix = q.get("prefix", [""])[0]
    try:
        start = int(q.get("start_revision", ["0"])[0])
    except ValueError:
        raise InvalidArgument("start_revision must be an integer") from None
    w = store.watch(prefix, start)  # raises Compacted before any byte is sent
    start_response("200 OK", [("Content-Type", "application/x-ndjson")])

    def stream() -> Iterator[bytes]:
        try:
            while True:
                try:
                    ev = w.get(WATCH_HEARTBEAT)
                except StoreError as e:
                    _, body = codec.error_json(e)
                    yield (json.dumps(body) + "\n").encode()
                    return
                if ev is None:
                    if w.closed:
                        return
                    yield b"\n"
                    continue
                yield (json.dumps(codec.event_json(ev)) + "\n").encode()
        finally:
            w.close()
    return stream()


def serve(store: Store, host: str, port: int, engine: str = "stdlib") -> Any:
    """A bound HTTP/1.1 keep-alive server: run ``.serve()`` in a thread, end with ``.stop()``.
    ``engine``: "stdlib" (a thread per connection) or "cheroot" (a worker pool)."""
    if engine == "stdlib":
        from .httpserve import Server
        return Server(host, port, create_app(store))
    from cheroot import wsgi
    server = wsgi.Server((host, port), create_app(store), numthreads=24, max=256,
                         request_queue_size=256, timeout=60)
    # cheroot closes keep-alive connections beyond 10 by default; clients of a
    # store hold theirs open
    server.keep_alive_conn_limit = 1024
    server.prepare()
    return server
