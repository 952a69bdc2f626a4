"""Server-side apply (``application/apply-patch+yaml``) as Kubernetes does it,
for the fields of the kinds we serve. Pure; inputs are left alone.

Each field manager owns a set of fields, kept in ``metadata.managedFields``
in Kubernetes' ``FieldsV1`` form. A field is a path: ``f:<name>`` steps into a
map, ``k:{"name":"app"}`` into the element of a list that merges by that key
(``coxapi.patchmeta``), ``v:<json>`` names a value of a list that merges as a
set. Any other list is atomic: owned, and replaced, whole.

An apply by manager M:

- owns exactly the fields of the applied configuration (M's ``Apply`` entry
  is replaced);
- conflicts (409, naming each field and its manager) where another manager
  owns a field the configuration sets to a different value, unless forced:
  then those fields leave the other managers; a field set to the same value
  is shared;
- removes the fields M applied last time and no longer does, unless another
  manager owns them;
- merges the configuration into the live object: maps by key, keyed lists by
  element, sets by value; everything else is replaced.

Any other write (update, patch, scale) of an object that has managed fields
moves the fields it changes to its manager's ``Update`` entry, so a later
apply of another value conflicts with it, as in Kubernetes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import errors
from .patchmeta import Field, Fields

Obj = dict[str, Any]
Path = tuple[str, ...]

APPLY, UPDATE = "Apply", "Update"
FIELDS_TYPE = "FieldsV1"
# Set by the server or naming the object: no manager owns them.
_IGNORED_TOP = frozenset({"apiVersion", "kind"})
_IGNORED_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation",
                           "creationTimestamp", "managedFields", "selfLink",
                           "deletionTimestamp", "deletionGracePeriodSeconds"})
_NONE = Field()
_MISSING = object()


@dataclass(frozen=True)
class Entry:
    """One ``managedFields`` entry: what one manager owns through one operation."""

    manager: str
    operation: str
    api_version: str
    time: str
    fields: frozenset[Path]
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str]:
        return self.manager, self.operation, self.subresource


@dataclass(frozen=True)
class Conflict:
    manager: str
    api_version: str
    path: Path


class ApplyConflict(errors.ApiError):
    """409 as Kubernetes answers a conflicting apply. Not an ``errors.Conflict``:
    a retry from a fresh read would conflict again."""

    code, reason = 409, "Conflict"

    def __init__(self, conflicts: list[Conflict]) -> None:
        lines = [f'conflict with "{c.manager}" using {c.api_version}: {path_string(c.path)}'
                 for c in conflicts]
        n = len(conflicts)
        message = (f"Apply failed with {n} conflict{'s' if n > 1 else ''}: "
                   + ("\n".join(lines) if n > 1 else lines[0]))
        super().__init__(message, {"causes": [
            {"reason": "FieldManagerConflict", "field": path_string(c.path),
             "message": f'conflict with "{c.manager}" using {c.api_version}'}
            for c in conflicts]})
        self.conflicts = conflicts


# ---- field sets --------------------------------------------------------------


def field_set(obj: Obj, meta: Fields, ignore: Iterable[str] = ()) -> frozenset[Path]:
    """The fields ``obj`` sets, leaving out the server's and the top-level ``ignore``."""
    skip = _IGNORED_TOP | set(ignore)
    out: set[Path] = set()
    for k, v in obj.items():
        if k in skip:
            continue
        if k == "metadata" and isinstance(v, dict):
            v = {mk: mv for mk, mv in v.items() if mk not in _IGNORED_META}
            if not v:
                continue
        _walk(v, meta.get(k, _NONE), (f"f:{k}",), out)
    return frozenset(out)


def _walk(value: Any, field: Field, path: Path, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _walk(v, field.fields.get(k, _NONE), (*path, f"f:{k}"), out)
    elif isinstance(value, list) and value and field.merges and _keyed(value, field):
        for item in value:
            if field.key:
                element = (*path, _key_step(field.key, item[field.key]))
                out.add(element)
                for k, v in item.items():
                    _walk(v, field.fields.get(k, _NONE), (*element, f"f:{k}"), out)
            else:
                out.add((*path, f"v:{_json(item)}"))
    else:
        out.add(path)


def _keyed(items: list, field: Field) -> bool:
    """Whether a merging list can be owned per element (else it is atomic)."""
    if field.key:
        return all(isinstance(i, dict) and field.key in i for i in items)
    return not any(isinstance(i, dict | list) for i in items)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _key_step(key: str, value: Any) -> str:
    return f"k:{_json({key: value})}"


def path_string(path: Path) -> str:
    """Kubernetes' way of writing a field in a conflict: ``.spec.containers[name="app"].image``."""
    out = []
    for step in path:
        kind, _, rest = step.partition(":")
        if kind == "f":
            out.append(f".{rest}")
        elif kind == "k":
            out.append("[" + ",".join(f"{k}={_json(v)}" for k, v in json.loads(rest).items())
                       + "]")
        else:
            out.append(f"[={rest}]")
    return "".join(out)


def to_fields_v1(paths: Iterable[Path]) -> Obj:
    """A set of paths in FieldsV1 form: nested maps, ``{}`` for a leaf, ``"."``
    for an element owned itself and through its fields."""
    root: Obj = {}
    members: set[Path] = set(paths)
    for p in sorted(members):
        node = root
        for step in p:
            node = node.setdefault(step, {})

    def mark(node: Obj, prefix: Path) -> None:
        for step, child in node.items():
            here = (*prefix, step)
            if child:
                if here in members:
                    child["."] = {}
                mark(child, here)
    mark(root, ())
    return root


def from_fields_v1(doc: Any, prefix: Path = ()) -> frozenset[Path]:
    out: set[Path] = set()
    if not isinstance(doc, dict):
        return frozenset()
    for step, child in doc.items():
        if step == ".":
            out.add(prefix)
        elif isinstance(child, dict) and child:
            out |= from_fields_v1(child, (*prefix, step))
        else:
            out.add((*prefix, step))
    return frozenset(out)


def read_managed(raw: Any) -> list[Entry]:
    """``metadata.managedFields`` as entries; what is not FieldsV1 is dropped."""
    out = []
    for e in raw if isinstance(raw, list) else []:
        if not isinstance(e, dict) or e.get("fieldsType", FIELDS_TYPE) != FIELDS_TYPE:
            continue
        out.append(Entry(str(e.get("manager", "")), str(e.get("operation", UPDATE)),
                         str(e.get("apiVersion", "")), str(e.get("time", "")),
                         from_fields_v1(e.get("fieldsV1")), str(e.get("subresource", ""))))
    return out


def write_managed(entries: Iterable[Entry]) -> list[Obj]:
    out = []
    for e in entries:
        entry: Obj = {"manager": e.manager, "operation": e.operation,
                      "apiVersion": e.api_version, "time": e.time, "fieldsType": FIELDS_TYPE,
                      "fieldsV1": to_fields_v1(e.fields)}
        if e.subresource:
            entry["subresource"] = e.subresource
        out.append(entry)
    return out


# ---- values at a path ----------------------------------------------------------


def _step_into(node: Any, step: str) -> Any:
    kind, _, rest = step.partition(":")
    if kind == "f":
        return node.get(rest, _MISSING) if isinstance(node, dict) else _MISSING
    if not isinstance(node, list):
        return _MISSING
    if kind == "k":
        want = json.loads(rest)
        return next((i for i in node if isinstance(i, dict)
                     and all(i.get(k) == v for k, v in want.items())), _MISSING)
    value = json.loads(rest)
    return value if value in node else _MISSING


def value_at(obj: Any, path: Path) -> Any:
    for step in path:
        obj = _step_into(obj, step)
        if obj is _MISSING:
            break
    return obj


def _remove(obj: Obj, path: Path) -> None:
    parent = value_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        target = _step_into(parent, path[-1])
        parent[:] = [i for i in parent if i is not target]


def _prune_empty(obj: Obj, path: Path, owned: set[Path]) -> None:
    """Remove the maps and lists a removal left empty, up to (not including)
    the top-level field, unless someone owns them."""
    while len(path) > 1 and path not in owned and value_at(obj, path) in ({}, []):
        _remove(obj, path)
        path = path[:-1]


def _is_element(path: Path) -> bool:
    return bool(path) and path[-1][:2] in ("k:", "v:")


# ---- merging -------------------------------------------------------------------------


def _merge(live: Any, applied: Any, field: Field) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict):
        out = dict(live)
        for k, v in applied.items():
            out[k] = _merge(live[k], v, field.fields.get(k, _NONE)) if k in live \
                else copy.deepcopy(v)
        return out
    if isinstance(live, list) and isinstance(applied, list) and field.merges \
            and _keyed(live, field) and _keyed(applied, field):
        if not field.key:
            return [*copy.deepcopy(applied), *(i for i in live if i not in applied)]
        by_key = {_json(i[field.key]): i for i in live}
        element = Field(fields=field.fields)
        merged = [_merge(by_key[k], i, element) if (k := _json(i[field.key])) in by_key
                  else copy.deepcopy(i) for i in applied]
        mine = {_json(i[field.key]) for i in applied}
        return [*merged, *(i for i in live if _json(i[field.key]) not in mine)]
    return copy.deepcopy(applied)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# ---- apply -----------------------------------------------------------------------------


def apply(live: Obj | None, applied: Obj, manager: str, meta: Fields, *, api_version: str,
          now: str, force: bool = False, ignore: Iterable[str] = ()) -> Obj:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: it
    is created), with its ``managedFields``. Raises ``ApplyConflict``."""
    applied = _without_nulls(applied)
    mine = field_set(applied, meta, ignore)
    me = Entry(manager, APPLY, api_version, now, mine)
    if live is None:
        merged = copy.deepcopy(applied)
        others: list[Entry] = []
    else:
        entries = read_managed((live.get("metadata") or {}).get("managedFields"))
        previous = next((e.fields for e in entries if e.identity == me.identity), frozenset())
        others = [e for e in entries if e.identity != me.identity]
        conflicts = [Conflict(e.manager, e.api_version, p) for e in others
                     for p in sorted(mine & e.fields)
                     if not _is_element(p) and value_at(applied, p) != value_at(live, p)]
        if conflicts and not force:
            raise ApplyConflict(conflicts)
        lost = {c.path for c in conflicts}
        others = [replace(e, fields=e.fields - lost) for e in others]
        kept: set[Path] = set().union(*(e.fields for e in others))
        merged = copy.deepcopy(live)
        for p in sorted(previous - mine - kept, key=len):
            if _is_element(p) and any(q[:len(p)] == p for q in kept | mine):
                continue  # someone still owns a field of this element
            _remove(merged, p)
            _prune_empty(merged, p[:-1], kept | mine)
        merged = _merge(merged, applied, Field(fields=meta))
    entries_out = [e for e in others if e.fields] + [me]
    merged.setdefault("metadata", {})["managedFields"] = write_managed(entries_out)
    return merged


def record_update(old: Obj, new: Obj, manager: str, meta: Fields, *, api_version: str,
                  now: str, ignore: Iterable[str] = ()) -> list[Obj] | None:
    """The ``managedFields`` of ``new`` after ``manager`` wrote it over ``old``
    (not by apply): the fields it changed are its own now. None when ``old``
    has none (nothing is tracked for objects no one applied)."""
    entries = read_managed((old.get("metadata") or {}).get("managedFields"))
    if not entries:
        return None
    before, after = field_set(old, meta, ignore), field_set(new, meta, ignore)
    changed = {p for p in after | before if _changed(old, new, p)}
    me = Entry(manager, UPDATE, api_version, now, frozenset())
    mine = next((e.fields for e in entries if e.identity == me.identity), frozenset())
    others = [replace(e, fields=e.fields - changed) for e in entries
              if e.identity != me.identity]
    me = replace(me, fields=frozenset((mine | changed) & after))
    if not changed:
        return write_managed(entries)
    return write_managed([e for e in [*others, me] if e.fields])


def _changed(old: Obj, new: Obj, path: Path) -> bool:
    was, now = value_at(old, path), value_at(new, path)
    if _is_element(path):  # an element changes by coming or going; its fields count apart
        return (was is _MISSING) != (now is _MISSING)
    return bool(was != now)
