"""Strategic merge patch (``application/strategic-merge-patch+json``) as
Kubernetes applies it. Pure; returns a new object and leaves the inputs alone.

Like a JSON merge patch (maps merge, ``null`` deletes a key) except that a
list whose field merges (``coxapi.patchmeta``) merges with the stored list:
elements with the same merge key (``containers`` by ``name``) merge, new ones
are added, and lists of scalars merge as sets. Other lists are replaced. The
directives:

- ``"$patch": "replace"`` in a map replaces the map; ``"$patch": "delete"``
  deletes it. In a merging list, ``{"$patch": "delete", <key>: v}`` deletes
  that element and ``{"$patch": "replace"}`` replaces the list with the
  patch's other elements.
- ``"$setElementOrder/<list>": [...]`` orders the merged list: the elements
  it names in its order, the elements only the server has where they were.
- ``"$deleteFromPrimitiveList/<list>": [...]`` removes scalars from a list.
- ``"$retainKeys": [...]`` drops every key of the stored map not listed
  (a union type switching member: ``strategy: {type: Recreate}``).

Directives are never stored.
"""

from __future__ import annotations

import copy
from typing import Any

from . import errors
from .patchmeta import Field, Fields

Obj = dict[str, Any]

DIRECTIVE = "$patch"
SET_ORDER = "$setElementOrder/"
DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/"
RETAIN_KEYS = "$retainKeys"
_NONE = Field()


class PatchError(errors.ApiError):
    """A strategic merge patch that cannot apply (HTTP 422, as Kubernetes answers)."""

    code, reason = 422, "Invalid"


def apply(original: Obj, patch: Any, meta: Fields) -> Obj:
    if not isinstance(patch, dict):
        raise errors.BadRequest("a strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), meta, "")


def _merge_map(original: Obj | None, patch: Obj, meta: Fields, path: str) -> Obj:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return _merge_map(None, patch, meta, path)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise errors.BadRequest(f"{path or '.'}: unknown $patch directive {directive!r}: "
                                    f"must be replace, delete or merge")
    out: Obj = {} if original is None else original
    if RETAIN_KEYS in patch:
        keep = patch.pop(RETAIN_KEYS)
        if not isinstance(keep, list):
            raise errors.BadRequest(f"{path}.$retainKeys: must be a list of field names")
        for k in [k for k in out if k not in keep]:
            del out[k]
    for key in [k for k in patch if k.startswith(DELETE_FROM_PRIMITIVE)]:
        name, gone = key[len(DELETE_FROM_PRIMITIVE):], patch.pop(key)
        if not isinstance(gone, list):
            raise errors.BadRequest(f"{path}.{key}: must be a list")
        if isinstance(out.get(name), list):
            out[name] = [v for v in out[name] if v not in gone]
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        name, order = key[len(SET_ORDER):], patch.pop(key)
        if not isinstance(order, list):
            raise errors.BadRequest(f"{path}.{key}: must be a list")
        items = patch.pop(name, [])
        if not isinstance(items, list):
            raise errors.BadRequest(f"{path}.{name}: must be a list, as {key} says")
        cur = out.get(name)
        merged = _merge_list(cur if isinstance(cur, list) else None, items,
                             meta.get(name, _NONE), f"{path}.{name}", order)
        if merged:
            out[name] = merged
        else:
            out.pop(name, None)
    for key, value in patch.items():
        if key.startswith("$"):
            raise errors.BadRequest(f"{path}.{key}: unknown strategic merge patch directive")
        if value is None:
            out.pop(key, None)
            continue
        f, cur, sub = meta.get(key, _NONE), out.get(key), f"{path}.{key}"
        if isinstance(value, dict):
            out[key] = _merge_map(cur if isinstance(cur, dict) else None, value, f.fields, sub)
        elif isinstance(value, list):
            out[key] = _merge_list(cur if isinstance(cur, list) else None, value, f, sub, None)
        else:
            out[key] = value
    return out


def _clean(value: Any, f: Field, path: str) -> Any:
    """A patch value with nothing to merge into: its directives and nulls go."""
    if isinstance(value, dict):
        return _merge_map(None, value, f.fields, path)
    if isinstance(value, list):
        return _merge_list(None, value, f, path, None)
    return value


def _merge_list(original: list | None, patch: list, f: Field, path: str,
                order: list | None) -> list:
    if not f.merges:
        return [_clean(v, f, f"{path}[{i}]") for i, v in enumerate(patch)]
    server = list(original or [])
    if all(not isinstance(v, dict) for v in server + patch):
        merged = _dedup(server + patch)
        return _ordered(merged, patch if order is None else order, server, "")
    key = f.key
    if not key:
        raise PatchError(f"{path}: cannot merge lists without a merge key")
    items, replace, out = [], False, list(server)
    for i, v in enumerate(patch):
        if not isinstance(v, dict):
            raise PatchError(f"{path}[{i}]: must be an object with the merge key {key!r}")
        directive = v.get(DIRECTIVE)
        if directive is None:
            items.append(v)
        elif directive == "delete":
            if key not in v:
                raise PatchError(f"{path}[{i}]: does not contain the merge key {key!r}")
            out = [o for o in out if not (isinstance(o, dict) and o.get(key) == v[key])]
        elif directive == "replace":
            replace = True
        else:
            raise errors.BadRequest(f"{path}[{i}]: unknown $patch directive {directive!r} "
                                    f"in a list: must be replace or delete")
    if replace:
        return [_clean(v, f, f"{path}[{i}]") for i, v in enumerate(items)]
    for v in items:
        if key not in v:
            raise PatchError(f"{path}: an element does not contain the merge key {key!r}")
        at = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == v[key]),
                  None)
        sub = f"{path}[{key}={v[key]}]"
        if at is None:
            out.append(_merge_map(None, v, f.fields, sub))
        else:
            out[at] = _merge_map(out[at], v, f.fields, sub)
    return _ordered(out, items if order is None else order, server, key)


def _dedup(values: list) -> list:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _ordered(merged: list, patch_order: list, server_order: list, key: str) -> list:
    """Kubernetes' element order: the elements the patch (or its
    ``$setElementOrder``) names, in that order, and the others in their stored
    order, merged as two sorted runs: a stored-only element goes first when
    the server had it before the named element it is compared with; a named
    element the server did not have goes first (so, without an order
    directive, new elements lead)."""
    def ident(v: Any) -> Any:
        return v.get(key) if key and isinstance(v, dict) else v

    named = [ident(v) for v in patch_order]
    stored = [ident(v) for v in server_order]

    def pos(ids: list, v: Any) -> int:
        i = ident(v)
        return ids.index(i) if i in ids else len(ids)

    from_patch = sorted((v for v in merged if ident(v) in named), key=lambda v: pos(named, v))
    server_only = sorted((v for v in merged if ident(v) not in named),
                         key=lambda v: pos(stored, v))
    out, i, j = [], 0, 0
    while i < len(server_only) or j < len(from_patch):
        if j >= len(from_patch):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(from_patch[j])
            j += 1
        else:
            left, right = ident(server_only[i]), ident(from_patch[j])
            if left in stored and right in stored and stored.index(left) < stored.index(right):
                out.append(server_only[i])
                i += 1
            else:
                out.append(from_patch[j])
                j += 1
    return out
