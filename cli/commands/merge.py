"""The three-way merge behind ``cox apply``. Pure.

``apply_patch(last, desired, live)`` computes an RFC 7386 merge patch that
brings ``live`` to what the manifest says, without touching fields the
manifest never mentioned (server defaults, status, fields other writers own):

- a key the manifest sets is patched when its value differs from live;
  dicts are compared key by key, and a list (or scalar) is compared as a
  subset of live, so server-filled defaults inside list items do not count
  as a difference — but any change against the last applied manifest does;
- a key the last applied manifest had and the new one dropped is deleted.

The new manifest is recorded in the last-applied annotation, as kubectl does
— except a Secret's values: anyone who may read the Secret's metadata could
read them there, so the annotation holds a SHA-256 of each ``data`` and
``stringData`` value instead, enough to tell a changed value from the same.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from coxapi import kinds
from coxapi.meta import drop_server_meta

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MISSING = object()
# Never part of what apply manages: the server owns status and SERVER_META.
_SERVER_OWNED = ("status",)

Obj = dict[str, Any]


def applied_form(manifest: Obj) -> Obj:
    """The manifest as apply manages it: no status, no server-owned metadata, no annotation."""
    obj = copy.deepcopy(manifest)
    for key in _SERVER_OWNED:
        obj.pop(key, None)
    meta = drop_server_meta(obj.get("metadata") or {})
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            meta.pop("annotations")
    return obj


_HASHED = "sha256:"


def _hashed_fields(obj: Obj) -> tuple[str, ...]:
    kind = kinds.named(str(obj.get("kind", "")))
    if kind is None or obj.get("apiVersion") not in (None, kind.api_version):
        return ()
    return kind.strategy.apply_hashed_fields


def _digest(value: Any) -> str:
    return _HASHED + hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _redacted(obj: Obj) -> Obj:
    """A Secret with each value replaced by its digest (other kinds as they are)."""
    fields = _hashed_fields(obj)
    if not fields:
        return obj
    out = dict(obj)
    for f in fields:
        if isinstance(obj.get(f), dict):
            out[f] = {k: _digest(v) for k, v in obj[f].items()}
    return out


def _unredacted(last: Obj, desired: Obj) -> Obj:
    """The last applied Secret with each digest that matches the value the
    manifest now has replaced by that value: unchanged values compare equal,
    changed ones differ, removed keys are still known by name."""
    fields = _hashed_fields(desired)
    if not fields:
        return last
    out = dict(last)
    for f in fields:
        was, now = last.get(f), desired.get(f)
        if isinstance(was, dict):
            now = now if isinstance(now, dict) else {}
            out[f] = {k: now[k] if k in now and _digest(now[k]) == v else v
                      for k, v in was.items()}
    return out


def last_applied_text(manifest: Obj) -> str:
    return json.dumps(_redacted(applied_form(manifest)), sort_keys=True, separators=(",", ":"))


def last_applied_of(live: Obj) -> Obj | None:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_last_applied(manifest: Obj) -> Obj:
    """The manifest to create, carrying its own last-applied annotation."""
    obj = copy.deepcopy(manifest)
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {})[LAST_APPLIED] = last_applied_text(manifest)
    return obj


def covers(desired: Any, live: Any) -> bool:
    """True when every value ``desired`` sets is the same in ``live``."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            k in live and covers(v, live[k]) for k, v in desired.items() if v is not None)
    if isinstance(desired, list):
        return (isinstance(live, list) and len(desired) == len(live)
                and all(covers(d, item) for d, item in zip(desired, live, strict=True)))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    return desired == live


def _diff(last: Any, desired: Obj, live: Any) -> Obj:
    live = live if isinstance(live, dict) else {}
    last = last if isinstance(last, dict) else None
    patch: Obj = {}
    for key, want in desired.items():
        have = live.get(key, _MISSING)
        before = last.get(key, _MISSING) if last is not None else _MISSING
        if isinstance(want, dict) and isinstance(have, dict):
            sub = _diff(before if isinstance(before, dict) else None, want, have)
            if sub:
                patch[key] = sub
        elif have is _MISSING or not covers(want, have) or (
                before is not _MISSING and before != want):
            patch[key] = want
    if last is not None:
        for key in last:
            if key not in desired and key in live:
                patch[key] = None
    return patch


def apply_patch(last: Obj | None, desired: Obj, live: Obj) -> Obj:
    """The merge patch for ``apply``; empty when the object is already as applied."""
    managed = applied_form(desired)
    before = _unredacted(applied_form(last), managed) if last is not None else None
    patch = _diff(before, managed, live)
    patch.pop("apiVersion", None)
    patch.pop("kind", None)
    text = last_applied_text(desired)
    live_text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if patch or live_text != text:
        patch.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = text
    return patch


def changes_fields(patch: Obj) -> bool:
    """Whether a patch changes more than the last-applied annotation."""
    rest = copy.deepcopy(patch)
    meta = rest.get("metadata") or {}
    (meta.get("annotations") or {}).pop(LAST_APPLIED, None)
    if "annotations" in meta and not meta["annotations"]:
        meta.pop("annotations")
    if "metadata" in rest and not meta:
        rest.pop("metadata")
    return bool(rest)
