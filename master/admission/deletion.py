"""Deletion semantics: graceful pod termination, finalizers and the
propagation policy towards dependents (owner references).

``plan(kind, obj, options, now)`` is pure and asks the kind's strategy whether
to remove the object now or mark it (deletionTimestamp); ``orphan_dependents``
is the one piece that writes other objects.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from coxapi import errors, kinds, meta
from coxapi.kinds.strategy import FOREGROUND as FOREGROUND
from coxapi.kinds.strategy import DeleteOptions as DeleteOptions
from coxapi.kinds.strategy import DeletePlan

from ..objects import ObjectStore

log = logging.getLogger(__name__)

Obj = dict[str, Any]


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


def plan(kind: kinds.Kind, obj: Obj, options: DeleteOptions, now: datetime) -> DeletePlan:
    """Remove ``obj`` now or mark it; the kind's strategy decides."""
    return kind.strategy.plan_delete(obj, options, now)


def finished_finalizing(kind: kinds.Kind, obj: Obj) -> bool:
    """A terminating object whose last finalizer is gone is removed by the API
    (Kubernetes does this on the update that clears the finalizers), unless
    its kind waits for someone else (a pod for its node)."""
    m = obj["metadata"]
    if not meta.is_terminating(obj) or m.get("finalizers"):
        return False
    return kind.strategy.remove_when_finalized(obj)


def orphan_dependents(objects: ObjectStore, owner: Obj) -> int:
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
        if not k.strategy.has_owners or (ns and not k.namespaced):
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
