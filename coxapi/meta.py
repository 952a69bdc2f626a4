"""Small helpers over API objects (plain dicts in the Kubernetes shape)."""

from __future__ import annotations

import uuid
from typing import Any, TypeGuard

from .jsoncopy import json_copy

Obj = dict[str, Any]

SERVER_META: tuple[str, ...] = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                                "deletionGracePeriodSeconds", "managedFields", "selfLink")
"""Metadata only the server writes. What a client sends there is ignored:
dropped on create, replaced by the stored value on update (the API server's
strategy; the in-process ``ObjectStore`` keeps the stored value where there is
one, so the deletion path can set deletionTimestamp), and left out of what
``cox apply`` manages. ``resourceVersion`` is server-written too but not in
this list: on update it carries the version the client read, the
compare-and-swap precondition. On create and in ``cox apply`` it goes as
well; see ``drop_server_meta``."""


def drop_server_meta(meta: Obj) -> Obj:
    """``meta`` without what a client can never set (``SERVER_META`` and
    ``resourceVersion``): a new object's, or a manifest's as apply manages it.
    Changes ``meta`` in place and returns it."""
    for f in (*SERVER_META, "resourceVersion"):
        meta.pop(f, None)
    return meta


def is_version(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a resourceVersion as the server writes one: a string
    of ASCII digits ("²".isdigit() holds, yet int() refuses it)."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


def new_uid() -> str:
    return str(uuid.uuid4())


def name_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("name", "")


def namespace_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("namespace", "")


def key_of(obj: Obj) -> str:
    """``namespace/name`` (or ``name`` for cluster-scoped objects): a work-queue key."""
    ns = namespace_of(obj)
    return f"{ns}/{name_of(obj)}" if ns else name_of(obj)


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: Obj, controller: bool = True) -> Obj:
    return {
        "apiVersion": owner.get("apiVersion"),
        "kind": owner.get("kind"),
        "name": name_of(owner),
        "uid": owner.get("metadata", {}).get("uid"),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def is_terminating(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def get_condition(obj: Obj, ctype: str) -> Obj | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def node_is_ready(node: Obj) -> bool:
    c = get_condition(node, "Ready")
    return bool(c and c.get("status") == "True")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new object, leaves both inputs alone."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    result = json_copy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict, patch: dict) -> None:
    """``patch`` merged into ``result`` in place (the copy merge_patch made
    once, rather than a copy per level of the patch)."""
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            cur = result.get(k)
            if not isinstance(cur, dict):
                cur = result[k] = {}
            _merge_into(cur, v)
        else:
            result[k] = json_copy(v)
