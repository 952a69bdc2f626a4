"""``dryRun=All``: a write goes through parsing, defaulting, admission and
validation, and the checks the store would make (the name is free, the
resourceVersion precondition holds), then answers the object it would have
stored without writing anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coxapi import errors, kinds
from raftstore import errors as store_errors

from ..objects import ObjectStore, fresh, successor, translate_store_error

Obj = dict[str, Any]
VALUES = ("All",)


def requested(values: Sequence[str]) -> bool:
    """Whether the ``dryRun`` query values ask for a dry run; 400 for a value
    other than ``All`` (the only one Kubernetes defines)."""
    for v in values:
        if v not in VALUES:
            raise errors.BadRequest(f"dryRun: unsupported value {v!r}: supported values: "
                                    f"{', '.join(VALUES)}")
    return bool(values)


def would_create(objects: ObjectStore, kind: kinds.Kind, obj: Obj) -> Obj:
    meta = obj["metadata"]
    try:
        objects.get(kind, meta.get("namespace"), meta["name"])
    except errors.NotFound:
        return fresh(kind, obj)
    raise errors.AlreadyExists(f'{kind.plural} "{meta["name"]}" already exists',
                               {"name": meta["name"], "kind": kind.plural})


def would_update(kind: kinds.Kind, cur: Obj, new: Obj) -> Obj:
    rv = new["metadata"].get("resourceVersion")
    current = cur["metadata"]["resourceVersion"]
    if rv and str(rv) != str(current):
        m = cur["metadata"]
        key = kind.storage_key(m.get("namespace"), m["name"])
        raise translate_store_error(store_errors.CompareFailed(key, None), kind, m["name"])
    out = successor(cur, new)
    out["metadata"]["resourceVersion"] = current
    return out
