"""Controller references: finding a pod's controlling owner, adopting
orphans and releasing pods that no longer match (ControllerRefManager)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from coxapi import errors, labels
from coxapi.meta import controller_ref, is_terminating, namespace_of, owner_reference

from ..objects import ObjectStore

Obj = dict[str, Any]

# An informer index (Kubernetes' PodControllerUIDIndex): an object under its
# controller's uid, an orphan under ORPHAN + its namespace. An owner's sync then
# looks at its own objects and the namespace's orphans, not at every object in
# the namespace (a 3,000-pod rollout syncs each ReplicaSet many times a second).
CONTROLLER_INDEX = "controllerUID"
ORPHAN = "orphan:"


def controller_index(obj: Obj) -> list[str]:
    ref = controller_ref(obj)
    if ref is not None:
        return [ref.get("uid", "")]
    return [ORPHAN + (namespace_of(obj) or "")]


def candidates(informer: Any, owner: Obj) -> list[Obj]:
    """What ``claim`` must see for ``owner``: the objects it controls and the
    orphans of its namespace, from an informer with ``controller_index``."""
    meta = owner["metadata"]
    return [*informer.by_index(CONTROLLER_INDEX, meta.get("uid", "")),
            *informer.by_index(CONTROLLER_INDEX, ORPHAN + (meta.get("namespace") or ""))]


def controlled(informer: Any, owner: Obj) -> list[Obj]:
    """The objects ``owner`` controls, from an informer with ``controller_index``."""
    return informer.by_index(CONTROLLER_INDEX, owner["metadata"].get("uid", ""))


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return bool(ref and ref.get("uid") == owner["metadata"].get("uid"))


def can_adopt(objects: ObjectStore, owner: Obj) -> bool:
    """Whether ``owner`` may still adopt, read from the store itself, as
    Kubernetes' ControllerRefManager rechecks (RecheckDeletionTimestamp): a
    cached owner may be stale, and one being deleted must not adopt (an Orphan
    delete marks the owner before it orphans the dependents, which would
    otherwise be re-adopted and then garbage-collected with their owner)."""
    m = owner["metadata"]
    try:
        fresh = objects.get(owner["kind"], m.get("namespace"), m["name"])
    except errors.NotFound:
        return False
    return fresh["metadata"].get("uid") == m.get("uid") and not is_terminating(fresh)


def adopt(objects: ObjectStore, kind: str, obj: Obj, owner: Obj) -> Obj | None:
    """Make ``owner`` the controller of orphan ``obj``; None if it was
    claimed by someone else (or vanished) in the meantime, or if ``owner``
    may no longer adopt."""
    if not can_adopt(objects, owner):
        return None
    ref = owner_reference(owner, controller=True)

    def claim(cur: Obj) -> Obj | None:
        if controller_ref(cur) is not None or is_terminating(cur):
            raise _Skip
        refs = [r for r in cur["metadata"].get("ownerReferences") or []
                if r.get("uid") != ref["uid"]]
        cur["metadata"]["ownerReferences"] = [*refs, ref]
        return cur
    try:
        return objects.guaranteed_update(kind, obj["metadata"].get("namespace"),
                                         obj["metadata"]["name"], claim)
    except (_Skip, errors.NotFound):
        return None


def release(objects: ObjectStore, kind: str, obj: Obj, owner: Obj) -> None:
    """Drop ``owner``'s reference from ``obj`` (its labels stopped matching)."""
    uid = owner["metadata"].get("uid")

    def drop(cur: Obj) -> Obj | None:
        refs = cur["metadata"].get("ownerReferences") or []
        keep = [r for r in refs if r.get("uid") != uid]
        if len(keep) == len(refs):
            return None
        if keep:
            cur["metadata"]["ownerReferences"] = keep
        else:
            cur["metadata"].pop("ownerReferences", None)
        return cur
    try:
        objects.guaranteed_update(kind, obj["metadata"].get("namespace"),
                                  obj["metadata"]["name"], drop)
    except errors.NotFound:
        pass


def claim(objects: Any, kind: str, owner: Obj, selector: labels.Selector,
          candidates: Iterable[Obj], released: Callable[[Obj], None] | None = None) -> list[Obj]:
    """The candidates ``owner`` controls (ClaimObjects): those it owns and
    ``selector`` matches, plus matching orphans it adopts now; owned ones that
    no longer match are released (and passed to ``released``)."""
    mine = []
    for obj in candidates:
        matches = labels.matches(selector, obj["metadata"].get("labels"))
        if owned_by(obj, owner):
            if matches:
                mine.append(obj)
            else:
                release(objects, kind, obj, owner)
                if released is not None:
                    released(obj)
        elif matches and controller_ref(obj) is None and not is_terminating(owner):
            adopted = adopt(objects, kind, obj, owner)
            if adopted is not None:
                mine.append(adopted)
    return mine


def owned(new: Obj, owner: Obj) -> Obj:
    """``new`` (an object the caller has just built, its own to change) made
    ``owner``'s, in place: a pod made from a template is copied once, not twice."""
    new["metadata"]["ownerReferences"] = [owner_reference(owner, controller=True)]
    return new


class _Skip(Exception):
    pass
