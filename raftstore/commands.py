"""Builders for the commands the replicated state machine applies.

A command is a plain dict (cheap to pickle into the Raft log). Everything
non-deterministic — the proposer's clock (``ts``), request ids, lease ids —
is decided here, at the edge, so that applying a command is a pure function.
Input is validated here too, so that a bad request never reaches the log.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidArgument, ValueTooLarge
from .types import COMPARE_OPS, COMPARE_TARGETS, Compare, Op

Command = dict[str, Any]

MAX_KEY_BYTES = 1536
MAX_VALUE_BYTES = 1536 * 1024
MAX_TXN_OPS = 128
# one command's keys and values (a txn's together): bounds a Raft entry and
# so the Raft port's frame limit (peerguard.py)
MAX_COMMAND_BYTES = 4 * 1024 * 1024


def check_key(key: Any, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"{what} must be a non-empty string, got {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidArgument(f"{what} is longer than {MAX_KEY_BYTES} bytes")
    return key


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise InvalidArgument(f"prefix must be a string, got {prefix!r}")
    return prefix


def encode_value(value: Any) -> str:
    """The value as compact JSON; the state keeps values encoded so that readers
    always get their own copy and sizes are known for the quota."""
    if not isinstance(value, dict):
        raise InvalidArgument(f"value must be a JSON object, got {type(value).__name__}")
    try:
        raw = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"value is not JSON-serialisable: {e}") from None
    if len(raw) > MAX_VALUE_BYTES:
        raise ValueTooLarge(f"value is larger than {MAX_VALUE_BYTES} bytes")
    return raw


def check_revision(rev: Any, what: str) -> int:
    if isinstance(rev, bool) or not isinstance(rev, int) or rev < 0:
        raise InvalidArgument(f"{what} must be a non-negative integer, got {rev!r}")
    return rev


def check_lease(lease: Any) -> int:
    return check_revision(lease, "lease")


def put(key: str, value: dict[str, Any], lease: int = 0,
        expect_mod_revision: int | None = None) -> Command:
    check_key(key)
    if expect_mod_revision is not None:
        check_revision(expect_mod_revision, "expect_mod_revision")
    return {"op": "put", "k": key, "v": encode_value(value), "l": check_lease(lease),
            "e": expect_mod_revision}


def delete(key: str, expect_mod_revision: int | None = None) -> Command:
    check_key(key)
    if expect_mod_revision is not None:
        check_revision(expect_mod_revision, "expect_mod_revision")
    return {"op": "del", "k": key, "e": expect_mod_revision}


def delete_prefix(prefix: str) -> Command:
    return {"op": "delp", "k": check_prefix(prefix)}


def _txn_op(op: Any) -> tuple:
    if not isinstance(op, Op):
        raise InvalidArgument(f"txn op must be an Op, got {op!r}")
    if op.kind == "put":
        return ("put", check_key(op.key), encode_value(op.value), check_lease(op.lease))
    if op.kind == "delete":
        return ("del", check_key(op.key))
    if op.kind == "delete_prefix":
        return ("delp", check_prefix(op.key))
    if op.kind == "get":
        return ("get", check_key(op.key))
    raise InvalidArgument(f"unknown txn op kind {op.kind!r}")


def _compare(c: Any) -> tuple:
    if not isinstance(c, Compare):
        raise InvalidArgument(f"txn compare must be a Compare, got {c!r}")
    check_key(c.key, "compare key")
    if c.target not in COMPARE_TARGETS:
        raise InvalidArgument(f"compare target must be one of {COMPARE_TARGETS}, got {c.target!r}")
    if c.op not in COMPARE_OPS:
        raise InvalidArgument(f"compare op must be one of {COMPARE_OPS}, got {c.op!r}")
    if c.target == "exists":
        if not isinstance(c.value, bool):
            raise InvalidArgument(f"compare on 'exists' needs True or False, got {c.value!r}")
        if c.op not in ("==", "!="):
            raise InvalidArgument("compare on 'exists' supports only '==' and '!='")
    else:
        check_revision(c.value, f"compare value for {c.target}")
    return (c.key, c.target, c.op, c.value)


def txn(compares: list[Compare], success: list[Op], failure: list[Op]) -> Command:
    if len(compares) + len(success) + len(failure) > MAX_TXN_OPS:
        raise InvalidArgument(f"a txn holds at most {MAX_TXN_OPS} compares and ops")
    cmd = {"op": "txn", "c": [_compare(c) for c in compares],
           "s": [_txn_op(o) for o in success], "f": [_txn_op(o) for o in failure]}
    if command_bytes(cmd) > MAX_COMMAND_BYTES:
        raise InvalidArgument(f"a txn's keys and values are larger than {MAX_COMMAND_BYTES} bytes")
    return cmd


def command_bytes(cmd: Command) -> int:
    """The keys and values a command carries (its share of a Raft entry)."""
    if cmd.get("op") == "txn":
        return sum(len(part) for op in (*cmd["s"], *cmd["f"]) for part in op[1:3]
                   if isinstance(part, str))
    return len(cmd.get("k", "")) + len(cmd.get("v", ""))


def lease_grant(ttl_seconds: Any, lease_id: int = 0) -> Command:
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int | float) \
            or not 1 <= ttl_seconds <= 10 * 365 * 86400:
        raise InvalidArgument(f"lease TTL must be a number of seconds >= 1, got {ttl_seconds!r}")
    return {"op": "lgrant", "id": check_lease(lease_id), "ttl": ttl_seconds}


def lease_keepalive(lease_id: int) -> Command:
    return {"op": "lkeep", "id": check_lease(lease_id)}


def lease_revoke(lease_id: int) -> Command:
    return {"op": "lrevoke", "id": check_lease(lease_id)}


def lease_expire(lease_id: int) -> Command:
    """Proposed only by the leader when its clock says the lease ran out."""
    return {"op": "lexpire", "id": lease_id}


def compact(revision: int) -> Command:
    return {"op": "compact", "rev": check_revision(revision, "compact revision")}


def barrier() -> Command:
    """A no-op through the log: once applied locally, every write committed
    before it is visible (a linearizable read point)."""
    return {"op": "noop"}


def batch(cmds: list[Command], ts: float, limits: tuple[int, int, float]) -> Command:
    """The unit that goes through the log: one or more commands applied in order.
    ``limits`` = (quota_bytes, history_max_events, history_max_age_seconds) travel
    in the command so every replica applies the same limits."""
    return {"op": "batch", "ts": ts, "lim": limits, "cmds": cmds}
