"""Preparation of objects for create, update and status update, like
Kubernetes' generic registry: the steps are the same for every kind and each
kind's ``Strategy`` (``coxapi.kinds``) supplies its own part. Pure: no store
access.
"""

from __future__ import annotations

from typing import Any

from coxapi import defaults, kinds, validation
from coxapi.errors import Invalid
from coxapi.jsoncopy import json_copy
from coxapi.meta import SERVER_META, drop_server_meta

Obj = dict[str, Any]


def prepare_create(kind: kinds.Kind, obj: Obj) -> Obj:
    """Defaults, server-set status, then validation (raises ``Invalid``)."""
    obj = json_copy(obj)
    drop_server_meta(obj.setdefault("metadata", {}))
    defaults.apply_defaults(obj)
    kind.strategy.prepare_for_create(obj)
    kind.strategy.canonicalize(obj)
    validation.validate(obj)
    return obj


def prepare_update(kind: kinds.Kind, old: Obj, new: Obj) -> Obj:
    """A main-resource update: server-owned metadata and (for kinds with a
    status subresource) the status stay as stored."""
    new = json_copy(new)
    meta = new.setdefault("metadata", {})
    for f in SERVER_META:
        if f in old["metadata"]:
            meta[f] = old["metadata"][f]
        else:
            meta.pop(f, None)
    if kind.has_status:
        if "status" in old:
            new["status"] = json_copy(old["status"])
        else:
            new.pop("status", None)
    defaults.apply_defaults(new)
    kind.strategy.prepare_for_update(old, new)
    kind.strategy.canonicalize(new)
    validation.validate_update(old, new)
    return new


def prepare_status_update(kind: kinds.Kind, old: Obj, body: Obj) -> Obj:
    """A status update changes the status only; everything else stays as stored."""
    status = body.get("status")
    if status is not None and not isinstance(status, dict):
        raise Invalid.fields(kind.kind, old["metadata"]["name"], [("status", "must be an object")])
    new = json_copy(old)
    if status is None:
        new.pop("status", None)
    else:
        new["status"] = json_copy(status)
    rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"), dict) else None
    if rv:
        new["metadata"]["resourceVersion"] = rv
    return new
