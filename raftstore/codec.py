"""JSON forms of the store's values and errors, for the standalone server."""

from __future__ import annotations

from typing import Any

from .errors import (
    Compacted,
    CompareFailed,
    InvalidArgument,
    KeyNotFound,
    LeaseNotFound,
    QuotaExceeded,
    StoreError,
    Unavailable,
)
from .types import Compare, Event, KeyValue, Op, TxnResult

HTTP_STATUS = [  # most specific first
    (CompareFailed, 409), (KeyNotFound, 404), (LeaseNotFound, 404), (Compacted, 410),
    (Unavailable, 503), (QuotaExceeded, 507), (InvalidArgument, 400), (StoreError, 500),
]


def kv_json(kv: KeyValue | None) -> dict | None:
    if kv is None:
        return None
    return {"key": kv.key, "value": kv.value, "create_revision": kv.create_revision,
            "mod_revision": kv.mod_revision, "version": kv.version, "lease": kv.lease}


def event_json(ev: Event) -> dict:
    return {"type": ev.type, "revision": ev.revision, "kv": kv_json(ev.kv),
            "prev_kv": kv_json(ev.prev_kv)}


def txn_result_json(r: TxnResult) -> dict:
    return {"succeeded": r.succeeded, "revision": r.revision,
            "results": [kv_json(x) if isinstance(x, KeyValue) or x is None else x
                        for x in r.results]}


def error_json(e: StoreError) -> tuple[int, dict]:
    status = next(code for cls, code in HTTP_STATUS if isinstance(e, cls))
    body: dict[str, Any] = {"error": type(e).__name__, "message": str(e)}
    if isinstance(e, CompareFailed):
        body["current"] = kv_json(e.current)
    if isinstance(e, Compacted):
        body["compact_revision"] = e.compact_revision
    return status, body


def field(body: dict, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``body[name]``, checked; a missing or mistyped field is an InvalidArgument naming it."""
    if name not in body or body[name] is None:
        if default is ...:
            raise InvalidArgument(f"field {name!r} is required")
        return default
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise InvalidArgument(f"field {name!r} has the wrong type ({type(value).__name__})")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def compare_from_json(c: Any) -> Compare:
    if not isinstance(c, dict):
        raise InvalidArgument("each compare must be an object")
    return Compare(field(c, "key", str), field(c, "target", str, "mod_revision"),
                   field(c, "op", str, "=="), c.get("value", 0))


def op_from_json(o: Any) -> Op:
    if not isinstance(o, dict):
        raise InvalidArgument("each txn op must be an object")
    kind = field(o, "op", str)
    if kind == "put":
        return Op.put(field(o, "key", str), field(o, "value", dict), field(o, "lease", int, 0))
    if kind in ("delete", "delete_prefix", "get"):
        return Op(kind, field(o, "key", str))
    raise InvalidArgument(f"txn op must be put, delete, delete_prefix or get, not {kind!r}")
