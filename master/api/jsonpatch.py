"""RFC 6902 JSON patch (``application/json-patch+json``), as kubectl sends with
``--type=json``. Pure; returns a new document and leaves the input alone."""

from __future__ import annotations

import copy
from typing import Any

from coxapi import errors

_OPS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(errors.ApiError):
    """A patch that cannot apply to this object (HTTP 422, as Kubernetes answers)."""

    code, reason = 422, "Invalid"


def _pointer(path: object) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise errors.BadRequest(f"json patch: invalid path {path!r}: must be a JSON pointer")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: object) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError(f"json patch: path {path!r} does not exist")
    return cur


def _parent(doc: Any, parts: list[str], path: object) -> tuple[Any, str]:
    return _walk(doc, parts[:-1], path), parts[-1]


def _index(container: list, token: str, path: object, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit():
        raise PatchError(f"json patch: {path!r}: {token!r} is not an array index")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"json patch: {path!r}: index {i} is out of range")
    return i


def _get(doc: Any, path: object) -> Any:
    return _walk(doc, _pointer(path), path)


def _remove(doc: Any, path: object) -> Any:
    parts = _pointer(path)
    if not parts:
        raise PatchError("json patch: cannot remove the whole document")
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"json patch: path {path!r} does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, allow_end=False))
    raise PatchError(f"json patch: path {path!r} does not exist")


def _add(doc: Any, path: object, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise PatchError(f"json patch: path {path!r} does not exist")
    return doc


def apply(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise errors.BadRequest("json patch: the body must be a JSON array of operations")
    doc = copy.deepcopy(doc)
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or op.get("op") not in _OPS:
            raise errors.BadRequest(f"json patch: operation {i}: op must be one of {', '.join(_OPS)}")
        kind, path = op["op"], op.get("path")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise errors.BadRequest(f"json patch: operation {i} ({kind}) needs a value")
        value = copy.deepcopy(op.get("value"))
        if kind == "add":
            doc = _add(doc, path, value)
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if _pointer(path):
                _remove(doc, path)
            doc = _add(doc, path, value)
        elif kind in ("move", "copy"):
            moved = _get(doc, op.get("from"))
            if kind == "move":
                _remove(doc, op.get("from"))
            doc = _add(doc, path, copy.deepcopy(moved))
        elif _get(doc, path) != value:
            raise PatchError(f"json patch: test failed at {path!r}")
    return doc
