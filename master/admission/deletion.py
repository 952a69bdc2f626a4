"""Deletion semantics: graceful pod termination, finalizers and the
propagation policy towards dependents (owner references).

``plan(kind, obj, options, now)`` is pure and decides between removing the
object now and marking it (deletionTimestamp); ``orphan_dependents`` is the
one piece that writes other objects.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coxapi import errors, kinds, meta
from coxapi.timefmt import rfc3339

log = logging.getLogger(__name__)

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None


@dataclass(frozen=True)
class Plan:
    """``remove``: delete the key now. Otherwise ``updated`` (when not None) is
    the marked object to write, and the object stays."""

    remove: bool
    updated: Obj | None = None


def check_preconditions(obj: Obj, options: DeleteOptions) -> None:
    m = obj["metadata"]
    if options.precondition_uid and options.precondition_uid != m.get("uid"):
        raise errors.Conflict(f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                              f"UID in object meta: {m.get('uid')}")
    if options.precondition_resource_version and \
            options.precondition_resource_version != m.get("resourceVersion"):
        raise errors.Conflict(
            f"Precondition failed: ResourceVersion in precondition: "
            f"{options.precondition_resource_version}, ResourceVersion in object meta: "
            f"{m.get('resourceVersion')}")


def plan(kind: kinds.Kind, obj: Obj, options: DeleteOptions, now: datetime) -> Plan:
    m = obj["metadata"]
    if kind.kind == "Pod":
        spec = obj.get("spec") or {}
        grace = options.grace_period_seconds
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
        # Only a pod that a node may be running needs time to stop.
        if spec.get("nodeName") and grace > 0 and not m.get("finalizers"):
            if meta.is_terminating(obj):
                # Already counting down; the node agent finishes it.
                return Plan(False)
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
            new["metadata"]["deletionGracePeriodSeconds"] = grace
            return Plan(False, new)
    finalizers = list(m.get("finalizers") or [])
    if options.propagation_policy == "Foreground" and FOREGROUND not in finalizers:
        finalizers.append(FOREGROUND)
    if finalizers:
        if meta.is_terminating(obj) and finalizers == list(m.get("finalizers") or []):
            return Plan(False)
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = finalizers
        new["metadata"].setdefault("deletionTimestamp", rfc3339(now))
        new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        return Plan(False, new)
    return Plan(True)


def finished_finalizing(kind: kinds.Kind, obj: Obj) -> bool:
    """A terminating object whose last finalizer is gone is removed by the API
    (Kubernetes does this on the update that clears the finalizers). A pod still
    in its grace period waits for its node."""
    m = obj["metadata"]
    if kind.kind == "Namespace" or not meta.is_terminating(obj) or m.get("finalizers"):
        return False
    return not (kind.kind == "Pod" and int(m.get("deletionGracePeriodSeconds") or 0) > 0)


def orphan_dependents(objects: Any, owner: Obj) -> int:
    """Remove ``owner`` from the ownerReferences of its dependents (the Orphan
    policy), so the garbage collector leaves them alone. Returns the count."""
    uid = owner["metadata"].get("uid")
    ns = owner["metadata"].get("namespace")

    def strip(o: Obj) -> Obj:
        refs = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            o["metadata"]["ownerReferences"] = refs
        else:
            o["metadata"].pop("ownerReferences", None)
        return o

    count = 0
    for k in kinds.KINDS:
        if k.kind == "Event" or (ns and not k.namespaced):
            continue
        items, _, _ = objects.list(
            k, ns if k.namespaced else None,
            predicate=lambda o: any(r.get("uid") == uid
                                    for r in o["metadata"].get("ownerReferences") or []))
        for dep in items:
            try:
                objects.guaranteed_update(k, dep["metadata"].get("namespace"),
                                          dep["metadata"]["name"], strip)
                count += 1
            except errors.NotFound:
                continue
    return count
